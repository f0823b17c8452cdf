import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * docs/api.md is all a person writing their own client gets, so its error table must name every code the
 * server can answer with. The codes are read from the sources, not from a list kept by hand: every typed
 * error (server/errors.ts) constructed in a file the HTTP app loads, every `{error: '…'}` literal the
 * server writes itself, and every code the web pages compare an API error against.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rel = (file: string) => path.relative(root, file);

/** Codes that a file the app loads can raise, but that never reach an HTTP answer. Each needs its reason. */
const NOT_OVER_HTTP: Record<string, string> = {
  user_not_found: 'AdminService looks people up by name only for heirloom-admin; no route calls it',
};

interface Found {
  code: string;
  /** null when the status is only known at run time (a status passed through) */
  status: number | null;
  where: string;
}

function parseFile(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((c) => walk(c, visit));
}

function literal(e: ts.Expression | undefined): string | null {
  return e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : null;
}

function numeric(e: ts.Expression | undefined): number | null {
  return e && ts.isNumericLiteral(e) ? Number(e.text) : null;
}

function lineOf(n: ts.Node): string {
  const sf = n.getSourceFile();
  return `${rel(sf.fileName)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
}

/** The files the HTTP app loads: server/app.ts and everything it imports for values, transitively. */
function appFiles(): ts.SourceFile[] {
  const seen = new Map<string, ts.SourceFile>();
  // server/http.ts answers what Node's parser refuses, before the app sees it (main.ts wires it)
  const queue = [path.join(root, 'server/app.ts'), path.join(root, 'server/http.ts')];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const sf = parseFile(file);
    seen.set(file, sf);
    for (const st of sf.statements) {
      const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier ? literal(st.moduleSpecifier as ts.Expression) : null;
      if (!spec || !spec.startsWith('.')) continue;
      if (ts.isImportDeclaration(st) && st.importClause?.isTypeOnly) continue;
      if (ts.isExportDeclaration(st) && st.isTypeOnly) continue;
      queue.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  }
  return [...seen.values()];
}

interface ErrorClass {
  status: number | null;
  /** position of the `code` parameter, or -1 when the class fixes its code */
  codeIndex: number;
  defaultCode: string | null;
}

/** The typed errors of server/errors.ts: each one's status, where its code goes, and its default code. */
function errorClasses(): Map<string, ErrorClass> {
  const classes = new Map<string, ErrorClass>();
  const sf = parseFile(path.join(root, 'server/errors.ts'));
  for (const st of sf.statements) {
    if (!ts.isClassDeclaration(st) || !st.name) continue;
    const ctor = st.members.find(ts.isConstructorDeclaration);
    if (!ctor) continue;
    const params = ctor.parameters.map((p) => p.name.getText());
    let superArgs: ts.NodeArray<ts.Expression> | undefined;
    walk(ctor, (n) => {
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) superArgs = n.arguments;
    });
    const codeParam = ctor.parameters[params.indexOf('code')];
    classes.set(st.name.text, {
      status: numeric(superArgs?.[0]),
      codeIndex: params.indexOf('code'),
      defaultCode: literal(codeParam?.initializer) ?? literal(superArgs?.[1]),
    });
  }
  expect(classes.get('AppError'), 'server/errors.ts has no AppError').to.not.equal(undefined);
  return classes;
}

/** The function or method `node` is in, when `name` is one of its parameters. */
function enclosingParam(node: ts.Node, name: string): { fn: ts.SignatureDeclaration; index: number } | null {
  for (let p: ts.Node | undefined = node.parent; p; p = p.parent) {
    if (ts.isFunctionLike(p)) {
      const index = p.parameters.findIndex((q) => q.name.getText() === name);
      if (index >= 0) return { fn: p, index };
    }
  }
  return null;
}

/**
 * The codes an expression can be. A literal is itself; a parameter (`code` handed through a helper such as
 * b64Field) is its default plus what every caller passes. Anything else is reported, never guessed.
 */
function codesOf(e: ts.Expression, files: ts.SourceFile[], problems: string[]): string[] {
  const lit = literal(e);
  if (lit !== null) return [lit];
  const param = ts.isIdentifier(e) ? enclosingParam(e, e.text) : null;
  const fnName = param?.fn.name?.getText();
  if (!param || !fnName) {
    problems.push(`${lineOf(e)}: cannot tell which code \`${e.getText()}\` is; pass a string literal`);
    return [];
  }
  const codes = new Set<string>();
  const fallback = literal(param.fn.parameters[param.index]?.initializer);
  for (const sf of files) {
    walk(sf, (n) => {
      if (!ts.isCallExpression(n)) return;
      const callee = ts.isPropertyAccessExpression(n.expression) ? n.expression.name.text : n.expression.getText();
      if (callee !== fnName) return;
      const arg = n.arguments[param.index];
      if (!arg) {
        if (fallback !== null) codes.add(fallback);
        return;
      }
      for (const c of codesOf(arg, files, problems)) codes.add(c);
    });
  }
  return [...codes];
}

/** Every machine code the app can answer with, where it comes from, and its status when fixed. */
function codesInSources(): { found: Found[]; problems: string[] } {
  const classes = errorClasses();
  const files = appFiles();
  const found: Found[] = [];
  const problems: string[] = [];
  for (const sf of files) {
    walk(sf, (n) => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && classes.has(n.expression.text)) {
        const cls = classes.get(n.expression.text) as ErrorClass;
        const args = n.arguments ?? ts.factory.createNodeArray<ts.Expression>();
        const status = n.expression.text === 'AppError' ? numeric(args[0]) : cls.status;
        const arg = cls.codeIndex >= 0 ? args[cls.codeIndex] : undefined;
        const codes = arg ? codesOf(arg, files, problems) : cls.defaultCode !== null ? [cls.defaultCode] : [];
        for (const code of codes) found.push({ code, status, where: lineOf(n) });
      }
      // tus's refusals mapped to ours: rows of `[ERRORS.X, status, 'code', message]`
      if (ts.isArrayLiteralExpression(n) && n.elements.length >= 3 && ts.isPropertyAccessExpression(n.elements[0] as ts.Expression)) {
        const owner = (n.elements[0] as ts.PropertyAccessExpression).expression.getText();
        const code = literal(n.elements[2]);
        if (owner === 'ERRORS' && code !== null) found.push({ code, status: numeric(n.elements[1]), where: lineOf(n) });
      }
      // bodies built by a helper, e.g. `jsonBody('tus_version', …)`
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'jsonBody') {
        const code = literal(n.arguments[0]);
        if (code !== null) found.push({ code, status: null, where: lineOf(n) });
      }
      // answers the server writes by hand, e.g. the upload handler's `{error: 'internal', …}`, or the HTTP
      // layer's `{status, code}` table for requests Node cannot parse
      if (ts.isPropertyAssignment(n) && (n.name.getText() === 'error' || (n.name.getText() === 'code' && rel(sf.fileName) === 'server/http.ts')) && rel(sf.fileName).startsWith('server/')) {
        const code = literal(n.initializer);
        if (code === null) return;
        const sibling = (n.parent as ts.ObjectLiteralExpression).properties.find(
          (p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ['status', 'status_code'].includes(p.name.getText()),
        );
        found.push({ code, status: numeric(sibling?.initializer), where: lineOf(n) });
      }
    });
  }
  return { found: [...found, ...codesThePagesExpect()], problems };
}

/** Codes the browser pages compare API errors against (`err.code === 'login_expired'`), crypto-core codes aside. */
function codesThePagesExpect(): Found[] {
  const cryptoCodes = new Set<string>();
  walk(parseFile(path.join(root, 'client/crypto/errors.ts')), (n) => {
    if (ts.isTypeAliasDeclaration(n) && n.name.text === 'CryptoErrorCode') {
      walk(n.type, (t) => {
        if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) cryptoCodes.add(t.literal.text);
      });
    }
  });
  const found: Found[] = [];
  const dir = path.join(root, 'client/pages');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    walk(parseFile(path.join(dir, name)), (n) => {
      if (!ts.isBinaryExpression(n) || ![ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(n.operatorToken.kind)) return;
      const [side, other] = ts.isPropertyAccessExpression(n.left) ? [n.left, n.right] : [n.right, n.left];
      const code = literal(other);
      if (ts.isPropertyAccessExpression(side) && side.name.text === 'code' && code !== null && !cryptoCodes.has(code)) {
        found.push({ code, status: null, where: lineOf(n) });
      }
    });
  }
  return found;
}

/** The rows of the table under "## Errors" in docs/api.md: code → the statuses written in its row. */
function documentedCodes(): Map<string, string> {
  const md = readFileSync(path.join(root, 'docs/api.md'), 'utf8');
  const start = md.search(/^## Errors\s*$/m);
  const rows = new Map<string, string>();
  if (start < 0) return rows;
  const rest = md.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  for (const m of section.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|([^|]*)\|/gm)) rows.set(m[1] as string, m[2] as string);
  return rows;
}

function statusListed(cell: string, status: number): boolean {
  return (cell.match(/\b[1-5](?:\d\d|xx)\b/g) ?? []).some((s) => s === String(status) || s === `${String(status)[0]}xx`);
}

describe('docs/api.md and the error codes the server sends', () => {
  const { found, problems } = codesInSources();
  const documented = documentedCodes();
  const sent = found.filter((f) => !(f.code in NOT_OVER_HTTP));

  it('has an error table', () => {
    expect(documented.size, 'docs/api.md needs a "## Errors" section with a table of `code` | status | meaning').to.be.greaterThan(0);
  });

  it('can read the code of every typed error the app throws', () => {
    if (problems.length) expect.fail(problems.join('\n'));
    // the reading itself works: codes known to exist are found
    expect(sent.map((f) => f.code)).to.include.members(['validation', 'login_failed', 'login_expired', 'bad_totp', 'csrf', 'rate_limited', 'internal']);
  });

  it('lists every error code the server can answer with in the error table', () => {
    const missing = new Map<string, string[]>();
    for (const f of sent) {
      if (!documented.has(f.code)) missing.set(f.code, [...(missing.get(f.code) ?? []), f.where]);
    }
    const lines = [...missing].map(([code, where]) => `  ${code}  (${where.join(', ')})`);
    if (lines.length) expect.fail(`docs/api.md "## Errors" lacks these codes (code, then where the server sends it):\n${lines.join('\n')}`);
  });

  it('gives each listed code the status the server answers it with', () => {
    const wrong = sent
      .filter((f) => f.status !== null && documented.has(f.code) && !statusListed(documented.get(f.code) as string, f.status as number))
      .map((f) => `  ${f.code}: the server answers ${f.status} (${f.where}), the table says "${(documented.get(f.code) as string).trim()}"`);
    if (wrong.length) expect.fail(`docs/api.md "## Errors" has wrong statuses:\n${wrong.join('\n')}`);
  });

  it('lists no code that nothing sends any more', () => {
    const sentCodes = new Set(sent.map((f) => f.code));
    const stale = [...documented.keys()].filter((code) => !sentCodes.has(code));
    if (stale.length) expect.fail(`docs/api.md "## Errors" lists codes that no source sends: ${stale.join(', ')}`);
  });
});
