// The Nest copy the sources and the shared suites see (here the root's Nest 12; tests/nest10 and
// tests/nest11 run the same checks against theirs).
import { HttpException } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import corePackage from '@nestjs/core/package.json' with { type: 'json' };
import { PLATFORMS } from './app.js';
import { describeResolution } from './suites/resolution.js';

for (const platform of PLATFORMS) {
  describeResolution(`nest 12 (${platform})`, {
    major: 12,
    HttpException,
    HttpAdapterHost,
    ModulesContainer,
    coreVersion: corePackage.version,
  });
}
