// Proves that @tracewire/nest's sources and the shared suites run against this workspace's Nest 10.
import { HttpException } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import corePackage from '@nestjs/core/package.json' with { type: 'json' };
import { PLATFORMS } from '../../../packages/nest/test/app.ts';
import { describeResolution } from '../../../packages/nest/test/suites/resolution.ts';

for (const platform of PLATFORMS) {
  describeResolution(`nest 10 (${platform})`, {
    major: 10,
    HttpException,
    HttpAdapterHost,
    ModulesContainer,
    coreVersion: corePackage.version,
  });
}
