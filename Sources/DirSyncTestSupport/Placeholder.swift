// Placeholder until the DirSyncTestSupport target lands; removed by its first real file.
