// Placeholder until the GraphSimulator target lands; removed by its first real file.
