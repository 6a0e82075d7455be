"""Feedback store: scrubbing, classification, persistence and the agent portal for stories.

Pure Python + SQLAlchemy. Never imports ``rasa`` or ``rasa_sdk``; nothing heavy at import time.
"""
