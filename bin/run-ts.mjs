// `node --import ./bin/run-ts.mjs file.ts`: TypeScript through tsx (as `node --import tsx`
// does), without tsx's on-disk cache. That cache lives in <system temp dir>/tsx-<uid> and would be
// left behind by every `npm start`, CLI call, bench run and test that runs TypeScript; the
// transform it saves is milliseconds per file. Set before tsx loads: it reads the switch once.
process.env.TSX_DISABLE_CACHE ??= '1';
await import('tsx');
