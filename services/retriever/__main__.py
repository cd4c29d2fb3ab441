from services.common.serve import serve
from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings

if __name__ == "__main__":
    serve("retriever", RetrieverSettings(), create_app)
