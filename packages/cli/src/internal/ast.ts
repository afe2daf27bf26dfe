// The parsing layer: oxc-parser gives an ESTree/TS-ESTree AST whose `start`/`end` are UTF-16
// offsets into the text, so every edit is an insertion at an offset (applied with magic-string)
// and the rest of the file stays byte for byte.
import { parseSync } from 'oxc-parser';

// oxc's own types are very wide unions; the transforms only read a few fields, so one loose shape.
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [key: string]: any;
}

export interface ParsedFile {
  /** Path relative to the project root, with `/` separators. */
  file: string;
  text: string;
  program: AstNode;
  /** The file uses `import`/`export` syntax (else `require`). */
  esm: boolean;
  errors: string[];
}

export function langOf(file: string): 'js' | 'jsx' | 'ts' | 'tsx' {
  if (/\.(c|m)?tsx?$/.test(file)) return file.endsWith('x') ? 'tsx' : 'ts';
  return file.endsWith('x') ? 'jsx' : 'js';
}

export function parseFile(file: string, text: string): ParsedFile {
  const lang = langOf(file);
  const sourceType = /\.c[jt]s$/.test(file) ? 'script' : 'module';
  const result = parseSync(file, text, { lang, sourceType, preserveParens: false });
  return {
    file,
    text,
    program: result.program as unknown as AstNode,
    esm: result.module.hasModuleSyntax,
    errors: result.errors.map((e) => e.message),
  };
}

/** Depth-first walk; `visit` gets the node and its ancestors (nearest last). */
export function walk(root: AstNode, visit: (node: AstNode, parents: readonly AstNode[]) => void): void {
  const parents: AstNode[] = [];
  const go = (node: AstNode): void => {
    visit(node, parents);
    parents.push(node);
    for (const key of Object.keys(node)) {
      if (key === 'parent') continue;
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) go(item);
      } else if (isNode(value)) go(value);
    }
    parents.pop();
  };
  go(root);
}

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).type === 'string';
}

/** 1-based line of an offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The whitespace that starts the line holding `offset`. */
export function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
}

/**
 * Where to put a new line after the statement ending at `end`: the end of that line when only
 * spaces or a comment follow (so a trailing `// comment` stays on its statement), else `end`.
 */
export function afterStatement(text: string, end: number): number {
  const newline = text.indexOf('\n', end);
  const lineEnd = newline === -1 ? text.length : newline;
  const rest = text.slice(end, lineEnd);
  if (/^\s*(\/\/.*|\/\*.*?\*\/\s*)?$/.test(rest))
    return lineEnd > end && text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
  return end;
}

export interface ImportBindings {
  /** Names bound to the module itself (default import, namespace import, `require()` result). */
  whole: Set<string>;
  /** Named imports: imported name -> local names. */
  named: Map<string, Set<string>>;
}

/** Every local binding of `source` in the file, from `import` and top-level `require()`. */
export function importsOf(parsed: ParsedFile, source: string | ((s: string) => boolean)): ImportBindings {
  const matches = typeof source === 'string' ? (s: string) => s === source : source;
  const out: ImportBindings = { whole: new Set(), named: new Map() };
  const addNamed = (imported: string, local: string): void => {
    const set = out.named.get(imported) ?? new Set<string>();
    out.named.set(imported, set);
    set.add(local);
  };
  walk(parsed.program, (node) => {
    if (node.type === 'ImportDeclaration' && matches(node.source.value)) {
      if (node.importKind === 'type') return;
      for (const spec of node.specifiers as AstNode[]) {
        if (spec.type === 'ImportSpecifier') {
          if (spec.importKind === 'type') continue;
          const imported = spec.imported.type === 'Identifier' ? spec.imported.name : spec.imported.value;
          if (imported === 'default') out.whole.add(spec.local.name);
          else addNamed(imported, spec.local.name);
        } else out.whole.add(spec.local.name);
      }
    } else if (node.type === 'VariableDeclarator' && node.init) {
      let init = node.init as AstNode;
      // require('x').default and require('x')
      if (init.type === 'MemberExpression' && !init.computed && init.property.name === 'default')
        init = init.object;
      if (!isRequireOf(init, matches)) return;
      if (node.id.type === 'Identifier') out.whole.add(node.id.name);
      else if (node.id.type === 'ObjectPattern') {
        for (const prop of node.id.properties as AstNode[]) {
          if (prop.type !== 'Property' || prop.key.type !== 'Identifier' || prop.value.type !== 'Identifier')
            continue;
          if (prop.key.name === 'default') out.whole.add(prop.value.name);
          else addNamed(prop.key.name, prop.value.name);
        }
      }
    }
  });
  return out;
}

function isRequireOf(node: AstNode, matches: (s: string) => boolean): boolean {
  return (
    node.type === 'CallExpression' &&
    node.callee.type === 'Identifier' &&
    node.callee.name === 'require' &&
    node.arguments.length === 1 &&
    node.arguments[0].type === 'Literal' &&
    typeof node.arguments[0].value === 'string' &&
    matches(node.arguments[0].value)
  );
}

/** `name` or `ns.name` where `ns` is a whole-module binding. */
export function refersTo(node: AstNode, bindings: ImportBindings, exported: string): boolean {
  if (node.type === 'Identifier') return bindings.named.get(exported)?.has(node.name) === true;
  return (
    node.type === 'MemberExpression' &&
    !node.computed &&
    node.object.type === 'Identifier' &&
    bindings.whole.has(node.object.name) &&
    node.property.name === exported
  );
}

/** Name of the function a call calls: `f()` -> f, `a.b.f()` -> f. */
export function calleeName(call: AstNode): string | undefined {
  const callee = call.callee as AstNode;
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' && !callee.computed) return callee.property.name;
  return undefined;
}

/** Calls anywhere in the file to a function named `name` (directly or as a member). */
export function callsNamed(parsed: ParsedFile, name: string): AstNode[] {
  const found: AstNode[] = [];
  walk(parsed.program, (node) => {
    if ((node.type === 'CallExpression' || node.type === 'NewExpression') && calleeName(node) === name)
      found.push(node);
  });
  return found;
}

/** The statement that holds `node` directly in a statement list, with that list's owner. */
export function enclosingStatement(
  node: AstNode,
  parents: readonly AstNode[],
): { statement: AstNode; list: AstNode[] } | undefined {
  let child = node;
  for (let i = parents.length - 1; i >= 0; i--) {
    const parent = parents[i] as AstNode;
    if (parent.type === 'Program' || parent.type === 'BlockStatement' || parent.type === 'StaticBlock') {
      return { statement: child, list: parent.body };
    }
    if (
      parent.type === 'ExportNamedDeclaration' ||
      parent.type === 'ExportDefaultDeclaration' ||
      parent.type === 'ExpressionStatement' ||
      parent.type === 'VariableDeclaration'
    ) {
      child = parent;
      continue;
    }
    if (
      parent.type.endsWith('Statement') ||
      parent.type.includes('Function') ||
      parent.type === 'ClassBody'
    ) {
      return undefined;
    }
    child = parent;
  }
  return undefined;
}
