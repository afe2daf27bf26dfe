// The tested version matrix: Express 4 (the `express4` alias, npm:express@4.22.3) and Express 5
// (5.3.0). Every suite that depends on the framework runs once per version, under a top-level
// `describe` named `express <major>: …`, so that CI's matrix reporter counts results per version.
import express5 from 'express';
import express4 from 'express4';

export type ExpressFactory = typeof express5;

export interface ExpressCell {
  /** `express 4` / `express 5`: the prefix of every top-level describe. */
  name: 'express 4' | 'express 5';
  major: 4 | 5;
  express: ExpressFactory;
}

export const EXPRESS_MATRIX: readonly ExpressCell[] = [
  { name: 'express 4', major: 4, express: express4 as unknown as ExpressFactory },
  { name: 'express 5', major: 5, express: express5 },
];
