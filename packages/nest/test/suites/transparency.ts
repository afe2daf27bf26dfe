// The transparency suite of @tracewire/tracewire's testing package for Nest (10, 11, 12) on both HTTP
// platforms: the standard routes as a Nest controller, the same application bare and with
// `OtelModule.forRoot()` (default options), and an application filter that records what Nest lets
// the application see of each error (then delegates to Nest's own BaseExceptionFilter).
import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ArgumentsHost, INestApplication } from '@nestjs/common';
import {
  Body,
  Catch,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  Redirect,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { describeSeen, describeTransparency, type TransparencyContext } from '@tracewire/testing';
import { OtelModule } from '../../src/index.js';
import { createApp, listen, type Platform } from '../app.js';

const SEEN = Symbol('transparency.seen');
type Seen = (observation: unknown) => void;

const fail = (props: Record<string, unknown>, message: string): Error =>
  Object.assign(new Error(message), props);
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Node objects under an Express request/response (themselves) or a Fastify one (`raw`). */
function rawOf<T>(value: T & { raw?: unknown }): T {
  return (value.raw ?? value) as T;
}

@Controller()
class TransparencyController {
  constructor(
    @Inject(SEEN) private readonly seen: Seen,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('ok')
  ok(): string {
    return 'ok';
  }

  @Get('json')
  json(): { a: number } {
    return { a: 1 };
  }

  @Get('users/:id')
  user(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: string): string {
    return body;
  }

  @Get('headers')
  @HttpCode(201)
  @Header('x-custom', '1')
  headers(@Res({ passthrough: true }) res: unknown): string {
    this.adapterHost.httpAdapter.setHeader(res, 'set-cookie', ['a=1; Path=/', 'b=2; Path=/'] as never);
    return 'made';
  }

  @Get('empty')
  @HttpCode(204)
  empty(): void {}

  @Get('redirect')
  @Redirect('/ok')
  redirect(): void {}

  @Get('stream')
  stream(): StreamableFile {
    async function* chunks(): AsyncGenerator<string> {
      for (const c of ['a', 'b', 'c']) {
        yield c;
        await delay(10);
      }
    }
    return new StreamableFile(Readable.from(chunks()));
  }

  @Get('stream-error')
  streamError(): StreamableFile {
    const body = new Readable({ read() {} });
    body.push('a');
    setTimeout(() => body.destroy(new Error('stream broke')), 10);
    const file = new StreamableFile(body);
    file.setErrorHandler((err, res) => {
      this.seen({ event: 'stream-error', message: err.message });
      rawOf(res as unknown as ServerResponse & { raw?: unknown }).destroy();
    });
    return file;
  }

  @Get('slow')
  async slow(@Req() req: IncomingMessage & { raw?: unknown }): Promise<string> {
    await delay(300);
    this.seen({ event: 'slow-done', aborted: rawOf(req).destroyed });
    return 'ok';
  }

  @Get('throw/sync')
  throwSync(): never {
    throw new Error('boom');
  }

  @Get('throw/async')
  async throwAsync(): Promise<never> {
    await delay(1);
    throw new Error('async boom');
  }

  @Get('throw/status')
  throwStatus(): never {
    throw fail({ status: 403 }, 'nope');
  }

  @Get('throw/status-code')
  throwStatusCode(): never {
    throw fail({ statusCode: 404 }, 'gone');
  }

  @Get('throw/expose')
  throwExpose(): never {
    throw fail({ status: 400, expose: true }, 'bad input');
  }

  @Get('throw/unavailable')
  throwUnavailable(): never {
    throw fail({ status: 503 }, 'down: db at 10.1.2.3');
  }

  @Get('throw/invalid-status')
  throwInvalidStatus(): never {
    throw fail({ status: 999 }, 'weird');
  }

  @Get('throw/non-error')
  throwNonError(): never {
    throw { key: 'value' };
  }

  @Get('throw/string')
  throwString(): never {
    throw 'oops';
  }

  @Get('throw/after-headers')
  afterHeaders(@Res() reply: ServerResponse & { raw?: unknown; hijack?: () => void }): never {
    // Fastify's idiom for writing to the Node response itself: take the reply over first.
    reply.hijack?.();
    const res = rawOf(reply);
    res.statusCode = 200;
    res.setHeader('x-partial', '1');
    res.write('partial');
    throw new Error('late');
  }
}

/** The application's own global filter: records what it got, then Nest answers as usual. */
@Catch()
class SeenFilter extends BaseExceptionFilter {
  constructor(
    adapter: ConstructorParameters<typeof BaseExceptionFilter>[0],
    private readonly seen: Seen,
  ) {
    super(adapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    this.seen(describeSeen(exception));
    super.catch(exception, host);
  }
}

async function start(platform: Platform, { mode, telemetry, seen }: TransparencyContext) {
  const otel =
    mode === 'instrumented'
      ? [
          OtelModule.forRoot({
            tracerProvider: telemetry.tracerProvider,
            meterProvider: telemetry.meterProvider,
          }),
        ]
      : [];
  @Module({
    imports: otel,
    controllers: [TransparencyController],
    providers: [{ provide: SEEN, useValue: seen }],
  })
  class TransparencyModule {}
  const app: INestApplication = await createApp(TransparencyModule, platform);
  if (platform === 'express') {
    // text/plain bodies for POST /echo (Fastify parses them itself).
    (app as unknown as { useBodyParser(type: string): void }).useBodyParser('text');
  }
  app.useGlobalFilters(new SeenFilter(app.getHttpAdapter(), seen));
  const url = await listen(app);
  return { url, close: () => app.close() };
}

/** Registers the transparency suite of one cell (`nest 11 (fastify)`, ...). */
export function describeNestTransparency(label: string, platform: Platform): void {
  describeTransparency({
    name: label,
    start: (ctx) => start(platform, ctx),
    skip: {
      'Error with status 403':
        "Nest answers 500 for any error that is not an HttpException, so the bare app cannot give the case's expected 403; the same route is compared as an extra case",
    },
    extraCases: [{ name: 'Error with status 403 (Nest answers 500)', path: '/throw/status' }],
  });
}
