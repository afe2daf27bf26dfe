// The shapes of code init meets, on small projects written here: where each insertion lands, and
// when it declines to guess.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { init, project } from './helpers.js';

const esm = (extra: Record<string, unknown> = {}): string =>
  `${JSON.stringify({ name: 'svc', type: 'module', ...extra }, null, 2)}\n`;
const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');

describe('entry points', () => {
  it('an ESM project with only "main": the import goes first in main (after a hashbang)', () => {
    const dir = project('entry-main', {
      'package.json': esm({ main: 'src/main.js' }),
      'src/main.js':
        "#!/usr/bin/env node\nimport express from 'express';\n\nconst app = express();\napp.listen(3000);\n",
    });
    expect(init(dir).exitCode).toBe(EXIT.ok);
    expect(read(dir, 'src/main.js')).toBe(
      "#!/usr/bin/env node\nimport '@tracewire/node/register';\nimport express from 'express';\nimport { otelExpress } from '@tracewire/express';\n\nconst app = express();\napp.use(otelExpress());\napp.listen(3000);\n",
    );
  });

  it('a CommonJS project without a node start script: the --import command is printed, not guessed', () => {
    const dir = project('entry-cjs-main', {
      'package.json': `${JSON.stringify({ name: 'svc', main: 'index.js' }, null, 2)}\n`,
      'index.js': "const Koa = require('koa');\nconst app = new Koa();\napp.listen(3000);\n",
    });
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.manual);
    expect(result.output).toContain('a CommonJS entry without a `node` start script');
    expect(result.output).toContain('node --import @tracewire/node/register index.js');
    expect(read(dir, 'index.js')).toBe(
      "const Koa = require('koa');\nconst { otelKoa } = require('@tracewire/koa');\nconst app = new Koa();\napp.use(otelKoa());\napp.listen(3000);\n",
    );
  });

  it('a start script with node flags keeps them; the flag goes right after node', () => {
    const dir = project('entry-flags', {
      'package.json': `${JSON.stringify({ name: 'svc', scripts: { start: 'NODE_ENV=production node --enable-source-maps server.js' } }, null, 2)}\n`,
      'server.js': "const express = require('express');\nconst app = express();\n",
    });
    init(dir);
    expect(JSON.parse(read(dir, 'package.json')).scripts.start).toBe(
      'NODE_ENV=production node --import @tracewire/node/register --enable-source-maps server.js',
    );
  });

  it('a project without dependencies gets a dependencies object, in the file’s indentation', () => {
    const dir = project('deps-missing', {
      'package.json': '{\n\t"name": "svc",\n\t"type": "module",\n\t"main": "a.js"\n}\n',
      'a.js': "import express from 'express';\nexport const app = express();\n",
    });
    init(dir);
    expect(read(dir, 'package.json')).toBe(
      '{\n\t"name": "svc",\n\t"type": "module",\n\t"main": "a.js",\n\t"dependencies": {\n\t\t"@opentelemetry/api": "^1.9.0",\n\t\t"@tracewire/express": "^0.1.0",\n\t\t"@tracewire/node": "^0.1.0"\n\t}\n}\n',
    );
    // `export const app = express()` is a statement list member: the use() goes after it
    expect(read(dir, 'a.js')).toContain('export const app = express();\napp.use(otelExpress());\n');
  });
});

describe('an app that already starts an OpenTelemetry SDK', () => {
  it('keeps it: the middleware is added, the @tracewire/node bootstrap is not', () => {
    const dir = project('own-sdk', {
      'package.json': esm({ scripts: { start: 'node --import ./tracing.js server.js' } }),
      'tracing.js': "import { NodeSDK } from '@opentelemetry/sdk-node';\nnew NodeSDK().start();\n",
      'server.js': "import express from 'express';\nconst app = express();\napp.listen(3000);\n",
    });
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.output).toContain('an OpenTelemetry SDK is already started (tracing.js)');
    expect(read(dir, 'server.js')).toBe(
      "import express from 'express';\nimport { otelExpress } from '@tracewire/express';\nconst app = express();\napp.use(otelExpress());\napp.listen(3000);\n",
    );
    expect(read(dir, 'package.json')).not.toContain('@tracewire/node');
  });
});

describe('NestJS', () => {
  const files = (module: string): Record<string, string> => ({
    'package.json': esm({ scripts: { start: 'node dist/main.js' } }),
    'tsconfig.json': '{ "compilerOptions": { "outDir": "dist", "rootDir": "src" } }\n',
    'src/main.ts':
      "import { NestFactory } from '@nestjs/core';\nimport { AppModule } from './app.module.js';\n\nconst app = await NestFactory.create<any>(AppModule);\nawait app.listen(3000);\n",
    'src/app.module.ts': module,
  });

  it('creates the imports array when the root module has none', () => {
    const dir = project(
      'nest-no-imports',
      files(
        "import { Module } from '@nestjs/common';\n\n@Module({ controllers: [] })\nexport class AppModule {}\n",
      ),
    );
    expect(init(dir).exitCode).toBe(EXIT.ok);
    expect(read(dir, 'src/app.module.ts')).toContain(
      '@Module({ imports: [OtelModule.forRoot()], controllers: [] })',
    );
    // ESM TypeScript built to dist: the bootstrap import goes first in the source entry
    expect(read(dir, 'src/main.ts').startsWith("import '@tracewire/node/register';\n")).toBe(true);
  });

  it('@Module() without arguments gets one', () => {
    const dir = project(
      'nest-empty',
      files("import { Module } from '@nestjs/common';\n@Module()\nexport class AppModule {}\n"),
    );
    init(dir);
    expect(read(dir, 'src/app.module.ts')).toContain('@Module({ imports: [OtelModule.forRoot()] })');
  });

  it('imports that are not an array literal: the snippet, not a guess', () => {
    const dir = project(
      'nest-spread',
      files(
        "import { Module } from '@nestjs/common';\nconst modules = [];\n@Module({ imports: modules })\nexport class AppModule {}\n",
      ),
    );
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.manual);
    expect(result.output).toContain('src/app.module.ts:3: the root module imports are not an array literal');
    expect(read(dir, 'src/app.module.ts')).not.toContain('OtelModule');
  });
});

describe('gRPC', () => {
  it('a server without options and a makeGenericClientConstructor client without options get the options object', () => {
    const dir = project('grpc-bare', {
      'package.json': esm({ main: 'index.js' }),
      'index.js': [
        "import { Server, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';",
        '',
        'const server = new Server();',
        "const Echo = makeGenericClientConstructor({}, 'Echo');",
        "const client = new Echo('localhost:50051', credentials.createInsecure());",
        '',
      ].join('\n'),
    });
    expect(init(dir).exitCode).toBe(EXIT.ok);
    const text = read(dir, 'index.js');
    expect(text).toContain('const server = new Server({ interceptors: [otelGrpcServerInterceptor()] });');
    expect(text).toContain(
      "const client = new Echo('localhost:50051', credentials.createInsecure(), { interceptors: [otelGrpcClientInterceptor()] });",
    );
    expect(text).toContain(
      "import { otelGrpcClientInterceptor, otelGrpcServerInterceptor } from '@tracewire/grpc';",
    );
  });

  it('options held in a const of the same file are edited there; options from elsewhere get the snippet', () => {
    const dir = project('grpc-const', {
      'package.json': esm({ main: 'index.js' }),
      'index.js': [
        "import * as grpc from '@grpc/grpc-js';",
        "import { serverOptions } from './options.js';",
        '',
        "const clientOptions = { 'grpc.keepalive_time_ms': 10000 };",
        'export const server = new grpc.Server(serverOptions);',
        "export const client = new grpc.Client('x:1', grpc.credentials.createInsecure(), clientOptions);",
        '',
      ].join('\n'),
    });
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.manual);
    expect(read(dir, 'index.js')).toContain(
      "const clientOptions = { interceptors: [otelGrpcClientInterceptor()], 'grpc.keepalive_time_ms': 10000 };",
    );
    expect(result.output).toContain("index.js:5: the gRPC server's options are not an object literal");
    expect(result.output).toContain(
      '{ ...options, interceptors: [otelGrpcServerInterceptor(), ...(options.interceptors ?? [])] }',
    );
  });
});

describe('pg', () => {
  it('Pool and Client, named or namespaced, are wrapped; one already passed to tracePg is left alone', () => {
    const dir = project('pg-shapes', {
      'package.json': esm({ main: 'db.js' }),
      'db.js': [
        "import pg, { Client } from 'pg';",
        "import { tracePg } from '@tracewire/pg';",
        '',
        'export const pool = new pg.Pool();',
        'export const admin = new Client({ user: "admin" });',
        'const replica = new pg.Pool();',
        'tracePg(replica);',
        '',
      ].join('\n'),
    });
    const result = init(dir);
    expect(result.exitCode).toBe(EXIT.ok);
    const text = read(dir, 'db.js');
    expect(text).toContain('export const pool = tracePg(new pg.Pool());');
    expect(text).toContain('export const admin = tracePg(new Client({ user: "admin" }));');
    expect(text).toContain('const replica = new pg.Pool();\ntracePg(replica);');
    expect(result.output).toContain('pg Pool at db.js:6: already passed to tracePg');
    // tracePg was already imported by hand: no second import
    expect(text.match(/from '@tracewire\/pg'/g)).toHaveLength(2);
  });
});

describe('pino', () => {
  it('is reported with a pointer to @tracewire/logger, not rewritten', () => {
    const dir = project('pino', {
      'package.json': esm({ main: 'log.js' }),
      'log.js': "import pino from 'pino';\nexport const log = pino();\n",
    });
    const result = init(dir);
    expect(result.output).toContain('i pino logger at log.js:2: createLogger() from @tracewire/logger');
    expect(read(dir, 'log.js')).not.toContain('@tracewire/logger');
  });
});
