"""Pull collectors: provider usage APIs read on a schedule."""
