"""The cluster network: iptables-style rule tables and the packet walk through them."""
