// Preloaded into the server under callgrind by instructions.mjs: a full collection on request, so that
// the counted window starts with an empty young generation (with a large one, no collection then
// lands inside the window and the count repeats; see INSTRUCTIONS.md).
process.on('message', (m) => {
  if (m?.type !== 'gc') return;
  globalThis.gc?.();
  process.send?.({ type: 'gced' });
});
