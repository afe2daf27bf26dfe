console.log('demo placeholder', process.version);
