// Preloaded into the server by allocations.mjs: on request, a full collection and then the bytes
// in use in V8's young generation; with a young generation larger than the window's allocations, no
// collection runs inside the window and the difference of two readings is what it allocated.
const v8 = require('node:v8');

const youngUsed = () =>
  v8
    .getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((sum, s) => sum + s.space_used_size, 0);

process.on('message', (m) => {
  if (m?.type === 'gc') {
    globalThis.gc?.();
    process.send?.({ type: 'gced', young: youngUsed() });
  } else if (m?.type === 'young') {
    process.send?.({ type: 'young', young: youngUsed() });
  }
});
