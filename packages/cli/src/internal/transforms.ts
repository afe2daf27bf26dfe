// One function per thing tracewire instruments. Each finds where the thing is created, checks
// whether tracewire is already there (its own earlier run or a hand-written call), and either plans
// an insertion or, when the place is not certain, a manual step with the exact snippet.
import {
  type AstNode,
  afterStatement,
  callsNamed,
  enclosingStatement,
  importsOf,
  indentAt,
  type ParsedFile,
  refersTo,
  walk,
} from './ast.js';
import { insert, type ManualStep, needImport, type Plan, styleOf, where } from './plan.js';

export interface TransformOptions {
  /** Add the problem+json error handling (changes what clients see on errors). */
  problemDetails: boolean;
  /** Place the Express problem+json handler before the app's own error handlers. */
  problemDetailsFirst: boolean;
}

export interface ProjectFiles {
  files: Map<string, ParsedFile>;
  /** Resolves a relative import from `from` to a parsed project file. */
  resolve(from: string, specifier: string): ParsedFile | undefined;
}

function manual(plan: Plan, parsed: ParsedFile, node: AstNode, what: string, snippet: string): void {
  const [file, line] = where(parsed, node).split(':') as [string, string];
  const step: ManualStep = { file, line: Number(line), what, snippet };
  plan.manual.push(step);
}

function usesAnywhere(project: ProjectFiles, module: string, name: string): string | undefined {
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, module);
    // Aliases count: `import { otelExpress as tracing }` then `tracing()`.
    for (const local of bindings.named.get(name) ?? []) {
      for (const call of callsNamed(parsed, local))
        if (call.callee.type === 'Identifier') return where(parsed, call);
    }
    for (const call of callsNamed(parsed, name)) {
      const callee = call.callee as AstNode;
      if (
        callee.type === 'MemberExpression' &&
        callee.object.type === 'Identifier' &&
        bindings.whole.has(callee.object.name)
      ) {
        return where(parsed, call);
      }
    }
  }
  return undefined;
}

/** The variable an expression is assigned to (`const app = X` or `app = X`), if any. */
function boundName(node: AstNode, parents: readonly AstNode[]): string | undefined {
  let child = node;
  for (let i = parents.length - 1; i >= 0; i--) {
    const parent = parents[i] as AstNode;
    if (
      parent.type === 'TSAsExpression' ||
      parent.type === 'TSSatisfiesExpression' ||
      parent.type === 'TSNonNullExpression'
    ) {
      child = parent;
      continue;
    }
    if (parent.type === 'VariableDeclarator' && parent.init === child && parent.id.type === 'Identifier')
      return parent.id.name;
    if (
      parent.type === 'AssignmentExpression' &&
      parent.right === child &&
      parent.left.type === 'Identifier'
    ) {
      return parent.left.name;
    }
    return undefined;
  }
  return undefined;
}

/** `<app>.use(<fn>(...))` somewhere in the file. */
function appUses(parsed: ParsedFile, app: string, fn: string): boolean {
  let found = false;
  walk(parsed.program, (node) => {
    if (
      node.type === 'CallExpression' &&
      node.callee.type === 'MemberExpression' &&
      node.callee.object.type === 'Identifier' &&
      node.callee.object.name === app &&
      node.callee.property.name === 'use' &&
      (node.arguments as AstNode[]).some(
        (a) => a.type === 'CallExpression' && a.callee.type === 'Identifier' && a.callee.name === fn,
      )
    ) {
      found = true;
    }
  });
  return found;
}

// ---------------------------------------------------------------------------------- Express, Koa

const ROUTE_METHODS = new Set([
  'use',
  'get',
  'post',
  'put',
  'delete',
  'patch',
  'all',
  'options',
  'head',
  'route',
]);

export function express(project: ProjectFiles, plan: Plan, options: TransformOptions): void {
  const handWritten = usesAnywhere(project, '@tracewire/express', 'otelExpress');
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, 'express');
    if (bindings.whole.size === 0) continue;
    walk(parsed.program, (node, parents) => {
      if (
        node.type !== 'CallExpression' ||
        node.callee.type !== 'Identifier' ||
        !bindings.whole.has(node.callee.name)
      )
        return;
      const snippet = `app.use(otelExpress()); // right after the app is created, before any route`;
      const app = boundName(node, parents);
      const at = enclosingStatement(node, parents);
      if (appUsesAnywhere(parsed, app, 'otelExpress')) {
        plan.already.push(`Express app at ${where(parsed, node)}: otelExpress() is already mounted`);
        return;
      }
      if (handWritten !== undefined) {
        plan.already.push(
          `Express app at ${where(parsed, node)}: otelExpress() is already used at ${handWritten}`,
        );
        return;
      }
      if (app === undefined || at === undefined) {
        manual(plan, parsed, node, 'Express app not assigned to a variable in a statement list', snippet);
        needDependency(plan, '@tracewire/express');
        return;
      }
      const { semi } = styleOf(parsed);
      const indent = indentAt(parsed.text, at.statement.start);
      insert(
        plan,
        parsed.file,
        afterStatement(parsed.text, at.statement.end),
        `\n${indent}${app}.use(otelExpress())${semi}`,
      );
      needImport(plan, parsed.file, '@tracewire/express', 'otelExpress');
      needDependency(plan, '@tracewire/express');
      plan.changes.push(`${where(parsed, node)}: ${app}.use(otelExpress()) after the Express app is created`);
      if (options.problemDetails) expressErrorHandler(parsed, plan, app, at, options, semi);
    });
  }
}

function appUsesAnywhere(parsed: ParsedFile, app: string | undefined, fn: string): boolean {
  return app !== undefined && appUses(parsed, app, fn);
}

function expressErrorHandler(
  parsed: ParsedFile,
  plan: Plan,
  app: string,
  at: { statement: AstNode; list: AstNode[] },
  options: TransformOptions,
  semi: string,
): void {
  if (appUses(parsed, app, 'otelExpressErrorHandler')) return;
  // The statements after the app's creation that register something on it.
  const registrations: AstNode[] = [];
  const handlers: AstNode[] = [];
  for (const statement of at.list.slice(at.list.indexOf(at.statement) + 1)) {
    const expr = statement.type === 'ExpressionStatement' ? (statement.expression as AstNode) : undefined;
    if (expr?.type !== 'CallExpression' || expr.callee.type !== 'MemberExpression') continue;
    if (expr.callee.object.type !== 'Identifier' || expr.callee.object.name !== app) continue;
    if (!ROUTE_METHODS.has(expr.callee.property.name)) continue;
    registrations.push(statement);
    const fnArgs = (expr.arguments as AstNode[]).filter((a) => /Function/.test(a.type));
    if (expr.callee.property.name === 'use' && fnArgs.some((f) => f.params.length === 4))
      handlers.push(statement);
  }
  const line = `${app}.use(otelExpressErrorHandler())${semi}`;
  needImport(plan, parsed.file, '@tracewire/express', 'otelExpressErrorHandler');
  if (options.problemDetailsFirst && handlers[0] !== undefined) {
    const indent = indentAt(parsed.text, handlers[0].start);
    insert(plan, parsed.file, handlers[0].start, `${line}\n${indent}`);
    plan.changes.push(
      `${where(parsed, handlers[0])}: otelExpressErrorHandler() before the app's own error handler`,
    );
    return;
  }
  const last = registrations.at(-1) ?? at.statement;
  const indent = indentAt(parsed.text, last.start);
  insert(plan, parsed.file, afterStatement(parsed.text, last.end), `\n${indent}${line}`);
  plan.changes.push(
    `${where(parsed, last)}: otelExpressErrorHandler() after the last route and error handler`,
  );
}

export function koa(project: ProjectFiles, plan: Plan, options: TransformOptions): void {
  const handWritten = usesAnywhere(project, '@tracewire/koa', 'otelKoa');
  const call = options.problemDetails ? 'otelKoa({ problemDetails: true })' : 'otelKoa()';
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, 'koa');
    if (bindings.whole.size === 0 && !bindings.named.has('Koa')) continue;
    walk(parsed.program, (node, parents) => {
      if (node.type !== 'NewExpression') return;
      const callee = node.callee as AstNode;
      const isKoa =
        (callee.type === 'Identifier' &&
          (bindings.whole.has(callee.name) || bindings.named.get('Koa')?.has(callee.name))) ||
        refersTo(callee, bindings, 'default');
      if (!isKoa) return;
      const app = boundName(node, parents);
      const at = enclosingStatement(node, parents);
      if (appUsesAnywhere(parsed, app, 'otelKoa') || handWritten !== undefined) {
        plan.already.push(
          `Koa app at ${where(parsed, node)}: otelKoa() is already mounted${handWritten ? ` (${handWritten})` : ''}`,
        );
        return;
      }
      needDependency(plan, '@tracewire/koa');
      if (app === undefined || at === undefined) {
        manual(
          plan,
          parsed,
          node,
          'Koa app not assigned to a variable in a statement list',
          `app.use(${call}); // first middleware`,
        );
        return;
      }
      const { semi } = styleOf(parsed);
      const indent = indentAt(parsed.text, at.statement.start);
      insert(
        plan,
        parsed.file,
        afterStatement(parsed.text, at.statement.end),
        `\n${indent}${app}.use(${call})${semi}`,
      );
      needImport(plan, parsed.file, '@tracewire/koa', 'otelKoa');
      plan.changes.push(`${where(parsed, node)}: ${app}.use(${call}) as the first middleware`);
    });
  }
}

// ----------------------------------------------------------------------------------------- NestJS

export function nest(project: ProjectFiles, plan: Plan, options: TransformOptions): void {
  const call = options.problemDetails
    ? 'OtelModule.forRoot({ problemDetails: true })'
    : 'OtelModule.forRoot()';
  for (const parsed of project.files.values()) {
    const core = importsOf(parsed, '@nestjs/core');
    if (core.whole.size === 0 && !core.named.has('NestFactory')) continue;
    walk(parsed.program, (node) => {
      if (node.type !== 'CallExpression' || node.callee.type !== 'MemberExpression') return;
      if (!['create', 'createMicroservice', 'createApplicationContext'].includes(node.callee.property.name))
        return;
      if (
        !refersTo(node.callee.object, core, 'NestFactory') &&
        !isNamed(node.callee.object, core, 'NestFactory')
      )
        return;
      needDependency(plan, '@tracewire/nest');
      const arg = node.arguments[0] as AstNode | undefined;
      const snippet = `@Module({ imports: [${call}, ...] }) // in the root module passed to NestFactory.create`;
      if (arg?.type !== 'Identifier') {
        manual(
          plan,
          parsed,
          node,
          'the root module passed to NestFactory is not a plain identifier',
          snippet,
        );
        return;
      }
      const moduleFile = findClassFile(project, parsed, arg.name);
      const decorated = moduleFile && moduleDecorator(moduleFile, arg.name);
      if (!moduleFile || !decorated) {
        manual(plan, parsed, node, `cannot find the @Module() class ${arg.name}`, snippet);
        return;
      }
      addOtelModule(moduleFile, decorated, plan, call, snippet);
    });
  }
}

function isNamed(node: AstNode, bindings: ReturnType<typeof importsOf>, name: string): boolean {
  return node.type === 'Identifier' && bindings.named.get(name)?.has(node.name) === true;
}

function findClassFile(project: ProjectFiles, from: ParsedFile, name: string): ParsedFile | undefined {
  for (const statement of from.program.body as AstNode[]) {
    if (statement.type !== 'ImportDeclaration') continue;
    if ((statement.specifiers as AstNode[]).some((s) => s.local.name === name)) {
      return project.resolve(from.file, statement.source.value);
    }
  }
  return from;
}

function moduleDecorator(parsed: ParsedFile, className: string): AstNode | undefined {
  let found: AstNode | undefined;
  walk(parsed.program, (node) => {
    if ((node.type !== 'ClassDeclaration' && node.type !== 'ClassExpression') || node.id?.name !== className)
      return;
    for (const decorator of (node.decorators ?? []) as AstNode[]) {
      const expr = decorator.expression as AstNode;
      if (
        expr.type === 'CallExpression' &&
        expr.callee.type === 'Identifier' &&
        expr.callee.name === 'Module'
      )
        found = expr;
    }
  });
  return found;
}

function addOtelModule(
  parsed: ParsedFile,
  decorator: AstNode,
  plan: Plan,
  call: string,
  snippet: string,
): void {
  const arg = decorator.arguments[0] as AstNode | undefined;
  const here = where(parsed, decorator);
  if (arg !== undefined && arg.type !== 'ObjectExpression') {
    manual(plan, parsed, decorator, 'the @Module() metadata is not an object literal', snippet);
    return;
  }
  const imports = (arg?.properties as AstNode[] | undefined)?.find(
    (p) => p.type === 'Property' && !p.computed && (p.key.name ?? p.key.value) === 'imports',
  );
  if (imports !== undefined && /\bOtelModule\b/.test(parsed.text.slice(imports.start, imports.end))) {
    plan.already.push(`${here}: OtelModule is already in the root module's imports`);
    return;
  }
  if (arg === undefined) {
    insert(plan, parsed.file, decorator.end - 1, `{ imports: [${call}] }`);
  } else if (imports === undefined) {
    const first = arg.properties[0] as AstNode | undefined;
    if (first === undefined) insert(plan, parsed.file, arg.start + 1, ` imports: [${call}] `);
    else {
      const multiline = parsed.text.slice(arg.start, first.start).includes('\n');
      insert(
        plan,
        parsed.file,
        first.start,
        `imports: [${call}],${multiline ? `\n${indentAt(parsed.text, first.start)}` : ' '}`,
      );
    }
  } else if (imports.value.type === 'ArrayExpression') {
    prependToArray(parsed, plan, imports.value, call);
  } else {
    manual(plan, parsed, imports, 'the root module imports are not an array literal', snippet);
    return;
  }
  needImport(plan, parsed.file, '@tracewire/nest', 'OtelModule');
  plan.changes.push(`${here}: ${call} in the root module's imports`);
}

/** Inserts `item` as the first element of an array literal, following its layout. */
function prependToArray(parsed: ParsedFile, plan: Plan, array: AstNode, item: string): void {
  const first = (array.elements as (AstNode | null)[])[0];
  if (first === undefined || first === null) {
    insert(plan, parsed.file, array.start + 1, item);
    return;
  }
  const multiline = parsed.text.slice(array.start, first.start).includes('\n');
  insert(
    plan,
    parsed.file,
    first.start,
    `${item},${multiline ? `\n${indentAt(parsed.text, first.start)}` : ' '}`,
  );
}

// ------------------------------------------------------------------------------------------- gRPC

export function grpc(project: ProjectFiles, plan: Plan): void {
  const serverDone = usesAnywhere(project, '@tracewire/grpc', 'otelGrpcServerInterceptor');
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, '@grpc/grpc-js');
    if (bindings.whole.size === 0 && bindings.named.size === 0) continue;
    walk(parsed.program, (node) => {
      if (node.type !== 'NewExpression') return;
      const callee = node.callee as AstNode;
      if (refersTo(callee, bindings, 'Server') || isNamed(callee, bindings, 'Server')) {
        interceptorOption(
          project,
          parsed,
          plan,
          node,
          0,
          'otelGrpcServerInterceptor()',
          'gRPC server',
          serverDone,
        );
        return;
      }
      // A client: `new SomeClient(address, credentials[, options])`, where the constructor comes
      // from loadPackageDefinition, makeGenericClientConstructor or generated code.
      const args = node.arguments as AstNode[];
      if (
        args.length < 2 ||
        args.length > 3 ||
        !/cred/i.test(parsed.text.slice(args[1]!.start, args[1]!.end))
      )
        return;
      interceptorOption(
        project,
        parsed,
        plan,
        node,
        2,
        'otelGrpcClientInterceptor()',
        'gRPC client',
        undefined,
      );
    });
  }
}

function interceptorOption(
  project: ProjectFiles,
  parsed: ParsedFile,
  plan: Plan,
  node: AstNode,
  index: number,
  call: string,
  what: string,
  handWritten: string | undefined,
): void {
  const fn = call.slice(0, call.indexOf('('));
  const here = where(parsed, node);
  const args = node.arguments as AstNode[];
  let options = args[index];
  if (options?.type === 'Identifier') options = constObject(parsed, options.name) ?? options;
  if (options !== undefined && parsed.text.slice(options.start, options.end).includes(fn)) {
    plan.already.push(`${what} at ${here}: ${fn} is already in its interceptors`);
    return;
  }
  if (handWritten !== undefined && what === 'gRPC server') {
    plan.already.push(`${what} at ${here}: ${fn} is already used at ${handWritten}`);
    return;
  }
  needDependency(plan, '@tracewire/grpc');
  void project;
  if (options === undefined) {
    if (args.length !== index) {
      manual(
        plan,
        parsed,
        node,
        `${what} created with fewer arguments than expected`,
        `{ interceptors: [${call}] }`,
      );
      return;
    }
    const closing = node.end - 1; // the `)` of the call
    insert(plan, parsed.file, closing, `${index > 0 ? ', ' : ''}{ interceptors: [${call}] }`);
  } else if (options.type === 'ObjectExpression') {
    const existing = (options.properties as AstNode[]).find(
      (p) => p.type === 'Property' && !p.computed && (p.key.name ?? p.key.value) === 'interceptors',
    );
    if (existing === undefined) {
      const first = options.properties[0] as AstNode | undefined;
      if (first === undefined) insert(plan, parsed.file, options.start + 1, ` interceptors: [${call}] `);
      else {
        const multiline = parsed.text.slice(options.start, first.start).includes('\n');
        insert(
          plan,
          parsed.file,
          first.start,
          `interceptors: [${call}],${multiline ? `\n${indentAt(parsed.text, first.start)}` : ' '}`,
        );
      }
    } else if (existing.value.type === 'ArrayExpression') {
      prependToArray(parsed, plan, existing.value, call);
    } else {
      manual(
        plan,
        parsed,
        existing,
        `the ${what}'s interceptors are not an array literal`,
        `interceptors: [${call}, ...yours]`,
      );
      return;
    }
  } else {
    manual(
      plan,
      parsed,
      node,
      `the ${what}'s options are not an object literal`,
      `{ ...options, interceptors: [${call}, ...(options.interceptors ?? [])] }`,
    );
    return;
  }
  needImport(plan, parsed.file, '@tracewire/grpc', fn);
  plan.changes.push(`${here}: ${call} first in the ${what}'s interceptors`);
}

/** `const name = { ... }` at the top level of the file. */
function constObject(parsed: ParsedFile, name: string): AstNode | undefined {
  for (const statement of parsed.program.body as AstNode[]) {
    const decl = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (decl?.type !== 'VariableDeclaration' || decl.kind !== 'const') continue;
    for (const d of decl.declarations as AstNode[]) {
      if (d.id.type === 'Identifier' && d.id.name === name && d.init?.type === 'ObjectExpression')
        return d.init;
    }
  }
  return undefined;
}

// --------------------------------------------------------------------------------------------- pg

export function pg(project: ProjectFiles, plan: Plan): void {
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, 'pg');
    if (bindings.whole.size === 0 && bindings.named.size === 0) continue;
    const traced = new Set<string>();
    for (const call of callsNamed(parsed, 'tracePg')) {
      const first = call.arguments[0] as AstNode | undefined;
      if (first?.type === 'Identifier') traced.add(first.name);
    }
    walk(parsed.program, (node, parents) => {
      if (node.type !== 'NewExpression') return;
      const callee = node.callee as AstNode;
      const kind = ['Pool', 'Client'].find(
        (k) => refersTo(callee, bindings, k) || isNamed(callee, bindings, k),
      );
      if (kind === undefined) return;
      const parent = parents.at(-1);
      const name = boundName(node, parents);
      if (
        (parent?.type === 'CallExpression' && parent.callee.name === 'tracePg') ||
        (name !== undefined && traced.has(name))
      ) {
        plan.already.push(`pg ${kind} at ${where(parsed, node)}: already passed to tracePg`);
        return;
      }
      needDependency(plan, '@tracewire/pg');
      insert(plan, parsed.file, node.start, 'tracePg(');
      insert(plan, parsed.file, node.end, ')');
      needImport(plan, parsed.file, '@tracewire/pg', 'tracePg');
      plan.changes.push(`${where(parsed, node)}: tracePg(new ${kind}(...))`);
    });
  }
}

// ------------------------------------------------------------------------------------------- pino

export function pino(project: ProjectFiles, plan: Plan): void {
  for (const parsed of project.files.values()) {
    const bindings = importsOf(parsed, 'pino');
    if (bindings.whole.size === 0) continue;
    for (const call of callsNamed(parsed, [...bindings.whole][0]!)) {
      plan.notes.push(
        `pino logger at ${where(parsed, call)}: createLogger() from @tracewire/logger adds trace_id/span_id to every line (not changed: your logger's options are yours)`,
      );
    }
  }
}

export function needDependency(plan: Plan, name: string): void {
  plan.dependencies.add(name);
}
