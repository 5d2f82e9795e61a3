"""NN Studio: ``python main.py`` opens the app; ``python main.py train|evaluate|predict|export ...``
runs headless (see ``python main.py --help``)."""
from app.launcher import main

if __name__ == "__main__":
    raise SystemExit(main())
