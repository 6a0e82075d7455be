"""Orientation domain: démarches → competent service, France services directory, droit à l'erreur.

Pure Python. Never imports ``rasa`` or ``rasa_sdk``; nothing heavy happens at import time.
"""
