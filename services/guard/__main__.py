from services.common.serve import serve
from services.guard.app import create_app
from services.guard.settings import GuardSettings

if __name__ == "__main__":
    settings = GuardSettings()
    settings.apply_cpu_threads()  # process setup, before the first model loads: not the app factory's job
    serve("guard", settings, create_app)
