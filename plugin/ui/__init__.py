"""Qt widgets of the plugin (GUI thread only)."""
