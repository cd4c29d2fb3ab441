from services.common.serve import serve
from services.guard.app import create_app
from services.guard.settings import GuardSettings

if __name__ == "__main__":
    serve("guard", GuardSettings(), create_app)
