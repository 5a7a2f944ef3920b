// Placeholder until the GraphHTTP target lands; removed by its first real file.
