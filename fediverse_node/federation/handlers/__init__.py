"""One module per activity type; `dispatch.py` routes an incoming activity to its handler."""
