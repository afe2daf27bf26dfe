// Parser comparison for `tracewire init` (run: npm run bench:parsers -w @tracewire/cli).
// Three candidates do the same job: parse, find `const app = express()`, insert
// `app.use(otelExpress())` after it and an import after the last import, and print:
//   A. oxc-parser + magic-string   (ESTree with UTF-16 offsets; edits are insertions by offset)
//   B. @ast-grep/napi              (tree-sitter; edits are text replacements of matched nodes)
//   C. recast + @babel/parser      (AST mutation; recast reprints what changed)
// It measures parse speed on real code, printing fidelity on a file written in a non-default style,
// TS + JSX + decorators support, and the install size of each in node_modules.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lang, parse as sgParse } from '@ast-grep/napi';
import * as babel from '@babel/parser';
import MagicString from 'magic-string';
import { parseSync } from 'oxc-parser';
import * as recast from 'recast';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../../..');
const nm = join(root, 'node_modules');

// ------------------------------------------------------------------------------------ the corpus
function files(dir, test) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist') out.push(...files(p, test));
    else if (e.isFile() && test(e.name)) out.push(p);
  }
  return out;
}
const tsCorpus = readdirSync(join(root, 'packages'))
  .flatMap((p) => {
    try {
      return files(join(root, 'packages', p, 'src'), (n) => n.endsWith('.ts') && !n.endsWith('.d.ts'));
    } catch {
      return [];
    }
  })
  .map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
const jsCorpus = files(join(nm, '@nestjs/core'), (n) => n.endsWith('.js')).map((f) => ({
  name: f,
  text: readFileSync(f, 'utf8'),
}));
const bytes = (c) => c.reduce((n, f) => n + Buffer.byteLength(f.text), 0);

const babelPlugins = ['typescript', 'jsx', ['decorators', { decoratorsBeforeExport: true }]];
const babelParse = (text, name) =>
  babel.parse(text, {
    sourceType: 'module',
    plugins:
      name.endsWith('.ts') && !name.endsWith('x')
        ? ['typescript', ['decorators', { decoratorsBeforeExport: true }]]
        : babelPlugins,
    tokens: true,
    errorRecovery: false,
  });

const parsers = {
  'oxc-parser': (f) => parseSync(f.name, f.text),
  '@ast-grep/napi': (f) =>
    sgParse(f.name.endsWith('.ts') ? Lang.TypeScript : Lang.JavaScript, f.text)
      .root()
      .kind(),
  'recast + @babel/parser': (f) => recast.parse(f.text, { parser: { parse: (t) => babelParse(t, f.name) } }),
};

function time(fn, corpus) {
  for (const f of corpus) fn(f); // warm up
  const rounds = 3;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const f of corpus) fn(f);
  return (performance.now() - t0) / rounds;
}

console.log(
  `corpus: ${tsCorpus.length} TypeScript files of this repo (${(bytes(tsCorpus) / 1024).toFixed(0)} KiB), ${jsCorpus.length} JS files of @nestjs/core (${(bytes(jsCorpus) / 1024).toFixed(0)} KiB)\n`,
);
console.log('| parser | TS corpus (ms) | JS corpus (ms) | MiB/s (TS) |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, fn] of Object.entries(parsers)) {
  let ts;
  let js;
  try {
    ts = time(fn, tsCorpus);
    js = time(fn, jsCorpus);
  } catch (e) {
    console.log(`| ${name} | failed: ${String(e.message).slice(0, 60)} | | |`);
    continue;
  }
  console.log(
    `| ${name} | ${ts.toFixed(1)} | ${js.toFixed(1)} | ${(bytes(tsCorpus) / 1048576 / (ts / 1000)).toFixed(1)} |`,
  );
}

// ------------------------------------------------------------------------------ printing fidelity
const source = readFileSync(join(here, '../test/fixtures/express-esm/server.js'), 'utf8');
const expected = source
  .replace(
    'import { ordersRouter } from "./orders.js"\n',
    'import { ordersRouter } from "./orders.js"\nimport { otelExpress } from "@tracewire/express"\n',
  )
  .replace(
    'const app = express() // the one app\n',
    'const app = express() // the one app\napp.use(otelExpress())\n',
  );

const edits = {
  'oxc-parser + magic-string': () => {
    const { program } = parseSync('server.js', source);
    const s = new MagicString(source);
    const lastImport = program.body.filter((n) => n.type === 'ImportDeclaration').at(-1);
    s.appendLeft(lastImport.end, '\nimport { otelExpress } from "@tracewire/express"');
    const decl = program.body.find(
      (n) => n.type === 'VariableDeclaration' && n.declarations[0].init?.callee?.name === 'express',
    );
    const lineEnd = source.indexOf('\n', decl.end);
    s.appendLeft(lineEnd, '\napp.use(otelExpress())');
    return s.toString();
  },
  '@ast-grep/napi': () => {
    const r = sgParse(Lang.JavaScript, source).root();
    const imports = r.findAll({ rule: { kind: 'import_statement' } });
    const last = imports.at(-1);
    const decl = r.find('const $APP = express()');
    const comment = decl.next(); // the trailing comment is a sibling node in tree-sitter
    const anchor =
      comment?.kind() === 'comment' && comment.range().start.line === decl.range().start.line
        ? comment
        : decl;
    const e1 = last.replace(`${last.text()}\nimport { otelExpress } from "@tracewire/express"`);
    const e2 = anchor.replace(`${anchor.text()}\napp.use(otelExpress())`);
    return r.commitEdits([e1, e2]);
  },
  'recast + @babel/parser': () => {
    const ast = recast.parse(source, { parser: { parse: (t) => babelParse(t, 'server.js') } });
    const b = recast.types.builders;
    const body = ast.program.body;
    const lastImport = body.findLastIndex((n) => n.type === 'ImportDeclaration');
    body.splice(
      lastImport + 1,
      0,
      b.importDeclaration(
        [b.importSpecifier(b.identifier('otelExpress'))],
        b.stringLiteral('@tracewire/express'),
      ),
    );
    const decl = body.findIndex(
      (n) => n.type === 'VariableDeclaration' && n.declarations[0].init?.callee?.name === 'express',
    );
    body.splice(
      decl + 1,
      0,
      b.expressionStatement(
        b.callExpression(b.memberExpression(b.identifier('app'), b.identifier('use')), [
          b.callExpression(b.identifier('otelExpress'), []),
        ]),
      ),
    );
    return recast.print(ast).code;
  },
};

console.log('\nprinting fidelity (the fixture uses double quotes, no semicolons, a trailing comment):\n');
console.log('| toolchain | output equals the expected bytes | lines differing from the expected |');
console.log('| --- | --- | ---: |');
for (const [name, fn] of Object.entries(edits)) {
  let out;
  try {
    out = fn();
  } catch (e) {
    console.log(`| ${name} | failed: ${String(e.message).slice(0, 60)} | |`);
    continue;
  }
  const a = out.split('\n');
  const b = expected.split('\n');
  let differing = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) differing++;
  console.log(`| ${name} | ${out === expected ? 'yes' : 'no'} | ${differing} |`);
  if (out !== expected && process.argv.includes('--show')) console.log(out);
}

// --------------------------------------------------------------------- TS + JSX + decorators
const tsx = `import { Module, Controller, Get, Param } from '@nestjs/common';
@Controller('x') export class C { constructor(private readonly s: string) {} @Get(':id') find(@Param('id') id: string): JSX.Element { return <div id={id}>{this.s satisfies string}</div>; } }
@Module({ controllers: [C] }) export class AppModule {}
enum E { A = 1 }
const f = <T,>(x: T): T => x;
`;
console.log(
  '\nTS + JSX + decorators (legacy parameter decorators, satisfies, enum, generic arrow in TSX):\n',
);
const support = {
  'oxc-parser': () => parseSync('a.tsx', tsx).errors.length,
  '@ast-grep/napi': () => {
    let errors = 0;
    const visit = (n) => {
      if (n.kind() === 'ERROR' || n.isMissing?.()) errors++;
      for (const c of n.children()) visit(c);
    };
    visit(sgParse(Lang.Tsx, tsx).root());
    return errors;
  },
  'recast + @babel/parser': () => {
    recast.parse(tsx, {
      parser: {
        parse: (t) =>
          babel.parse(t, {
            sourceType: 'module',
            plugins: ['typescript', 'jsx', 'decorators-legacy'],
            tokens: true,
          }),
      },
    });
    return 0;
  },
};
for (const [name, fn] of Object.entries(support)) {
  try {
    const errors = fn();
    console.log(`- ${name}: ${errors === 0 ? 'parses it' : `${errors} error nodes`}`);
  } catch (e) {
    console.log(`- ${name}: throws: ${String(e.message).slice(0, 80)}`);
  }
}

// -------------------------------------------------------------------------------- install size
const du = (...paths) =>
  paths.reduce((n, p) => {
    try {
      statSync(join(nm, p));
      return n + Number(execFileSync('du', ['-sk', join(nm, p)], { encoding: 'utf8' }).split('\t')[0]);
    } catch {
      return n;
    }
  }, 0);
console.log("\ninstall size (du -sk in node_modules, this platform's binary only):\n");
console.log(
  `- oxc-parser + @oxc-parser/binding-linux-x64-gnu + magic-string: ${du('oxc-parser', '@oxc-parser/binding-linux-x64-gnu', 'magic-string')} KiB`,
);
console.log(
  `- @ast-grep/napi + @ast-grep/napi-linux-x64-gnu: ${du('@ast-grep/napi', '@ast-grep/napi-linux-x64-gnu')} KiB`,
);
console.log(
  `- recast (+ ast-types, esprima, source-map, tiny-invariant, tslib) + @babel/parser: ${du('recast', 'ast-types', 'esprima', 'source-map', 'tiny-invariant', 'tslib', '@babel/parser')} KiB`,
);
