// Placeholder until the graph-sim executable lands.
print("graph-sim: not built yet")
