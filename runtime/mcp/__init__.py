"""MCP servers an admin registers, and the calls agents make to their tools."""
