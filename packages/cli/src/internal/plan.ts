// What a run will do: insertions per file (at offsets of the original text), the manual steps it
// could not place with certainty, what was already there, and the dependencies to add.
import { type AstNode, afterStatement, lineOf, type ParsedFile, walk } from './ast.js';

export interface Insertion {
  pos: number;
  text: string;
}

export interface ManualStep {
  file: string;
  line: number;
  what: string;
  snippet: string;
}

export interface Plan {
  insertions: Map<string, Insertion[]>;
  /** Imports to add: file -> module -> names (empty set: a side-effect import). */
  imports: Map<string, Map<string, Set<string>>>;
  changes: string[];
  already: string[];
  manual: ManualStep[];
  notes: string[];
  failed: { file: string; error: string }[];
  dependencies: Set<string>;
}

export function emptyPlan(): Plan {
  return {
    insertions: new Map(),
    imports: new Map(),
    changes: [],
    already: [],
    manual: [],
    notes: [],
    failed: [],
    dependencies: new Set(),
  };
}

export function insert(plan: Plan, file: string, pos: number, text: string): void {
  const list = plan.insertions.get(file) ?? [];
  plan.insertions.set(file, list);
  list.push({ pos, text });
}

export function needImport(plan: Plan, file: string, module: string, name?: string): void {
  const byModule = plan.imports.get(file) ?? new Map<string, Set<string>>();
  plan.imports.set(file, byModule);
  const names = byModule.get(module) ?? new Set<string>();
  byModule.set(module, names);
  if (name !== undefined) names.add(name);
}

export function where(parsed: ParsedFile, node: AstNode): string {
  return `${parsed.file}:${lineOf(parsed.text, node.start)}`;
}

/** The file's own conventions, so inserted lines look like the lines around them. */
export interface Style {
  quote: string;
  semi: string;
}

export function styleOf(parsed: ParsedFile): Style {
  let quote: string | undefined;
  let semi: string | undefined;
  for (const statement of parsed.program.body as AstNode[]) {
    if (quote === undefined) {
      walk(statement, (node) => {
        if (quote === undefined && node.type === 'Literal' && typeof node.value === 'string' && node.raw) {
          quote = node.raw[0] === '"' ? '"' : "'";
        }
      });
    }
    if (
      semi === undefined &&
      /Declaration|Statement/.test(statement.type) &&
      !/Function|Class/.test(statement.type)
    ) {
      semi = parsed.text.slice(statement.start, statement.end).trimEnd().endsWith(';') ? ';' : '';
    }
  }
  return { quote: quote ?? "'", semi: semi ?? ';' };
}

/** Adds the import lines a file needs: the bootstrap first in the file, the others after its imports. */
export function placeImports(plan: Plan, parsed: ParsedFile): void {
  const wanted = plan.imports.get(parsed.file);
  if (wanted === undefined) return;
  const { quote: q, semi } = styleOf(parsed);
  const body = parsed.program.body as AstNode[];
  let lastImport: AstNode | undefined;
  for (const statement of body) {
    if (statement.type === 'ImportDeclaration' || isRequireDeclaration(statement)) lastImport = statement;
  }
  // Directives ('use strict') stay first.
  let first: AstNode | undefined;
  for (const statement of body) {
    if (statement.type === 'ExpressionStatement' && typeof statement.directive === 'string') continue;
    first = statement;
    break;
  }
  const lines: string[] = [];
  for (const [module, names] of wanted) {
    if (names.size === 0) {
      // The bootstrap: before every other import, so it is evaluated first.
      const text =
        parsed.esm || !lastImport ? `import ${q}${module}${q}${semi}` : `require(${q}${module}${q})${semi}`;
      if (first) insert(plan, parsed.file, first.start, `${text}\n`);
      else insert(plan, parsed.file, parsed.text.length, `${text}\n`);
      continue;
    }
    const list = [...names].sort().join(', ');
    lines.push(
      parsed.esm || parsed.file.match(/\.[mc]?tsx?$/)
        ? `import { ${list} } from ${q}${module}${q}${semi}`
        : `const { ${list} } = require(${q}${module}${q})${semi}`,
    );
  }
  if (lines.length === 0) return;
  if (lastImport) {
    insert(
      plan,
      parsed.file,
      afterStatement(parsed.text, lastImport.end),
      lines.map((l) => `\n${l}`).join(''),
    );
  } else if (first) {
    insert(plan, parsed.file, first.start, lines.map((l) => `${l}\n`).join(''));
  } else insert(plan, parsed.file, parsed.text.length, lines.map((l) => `${l}\n`).join(''));
}

function isRequireDeclaration(statement: AstNode): boolean {
  if (statement.type !== 'VariableDeclaration') return false;
  return (statement.declarations as AstNode[]).some((d) => {
    let init = d.init as AstNode | null;
    while (init && init.type === 'MemberExpression') init = init.object;
    return (
      init?.type === 'CallExpression' && init.callee.type === 'Identifier' && init.callee.name === 'require'
    );
  });
}
