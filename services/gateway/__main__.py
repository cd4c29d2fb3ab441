from services.common.serve import serve
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

if __name__ == "__main__":
    serve("gateway", GatewaySettings(), create_app)
