"""The portal: agent API, dashboard, exports; also serves the chat widget and /demo."""
