// Placeholder until the dirsync command lands.
print("dirsync: not built yet")
