"""Bundle entry point: point the engine at the bundled assets, then run seqlab's main()."""
import os
import sys

if getattr(sys, "frozen", False):
    os.environ.setdefault("SEQLAB_ASSETS", os.path.join(sys._MEIPASS, "assets"))

from desktop.app import main  # noqa: E402

sys.exit(main())
