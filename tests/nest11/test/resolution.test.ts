// Proves that @tracewire/nest's sources and the shared suites run against this workspace's Nest 11.
import { HttpException } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import corePackage from '@nestjs/core/package.json' with { type: 'json' };
import { PLATFORMS } from '../../../packages/nest/test/app.ts';
import { describeResolution } from '../../../packages/nest/test/suites/resolution.ts';

for (const platform of PLATFORMS) {
  describeResolution(`nest 11 (${platform})`, {
    major: 11,
    HttpException,
    HttpAdapterHost,
    ModulesContainer,
    coreVersion: corePackage.version,
  });
}
