from services.common.serve import serve
from services.generator.app import create_app
from services.generator.settings import GeneratorSettings

if __name__ == "__main__":
    serve("generator", GeneratorSettings(), create_app)
