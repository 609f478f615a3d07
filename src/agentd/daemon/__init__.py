"""The agentd daemon: the control plane."""
