# NBVAL_IGNORE_OUTPUT
# Setup: on Colab, install genae from the book's repository;
# everywhere, say which device runs the code.
import importlib.util
import subprocess
import sys

GENAE_REPO = "https://github.com/genae-book/genae"
if "google.colab" in sys.modules:
    if importlib.util.find_spec("genae") is None:
        pip = [sys.executable, "-m", "pip", "install", "-q"]
        subprocess.run([*pip, f"git+{GENAE_REPO}"], check=True)
    from google.colab import output

    output.enable_custom_widget_manager()  # for the ipywidgets sliders

import torch

device = "cuda" if torch.cuda.is_available() else "cpu"
found = torch.cuda.get_device_name(0) if device == "cuda" else "no GPU found"
print(f"genae will run on {device} ({found})")
