// Placeholder until the GraphSimulatorServer target lands; removed by its first real file.
