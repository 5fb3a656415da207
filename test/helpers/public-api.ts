import { dirname, resolve, sep } from "node:path";
import ts from "typescript";

/** Subpath of package.json `exports` (".", "./tool", …) → absolute path of its source entry. */
export type PublicEntries = Record<string, string>;

/**
 * The package's sources as the compiler sees them, for questions about names only: without the standard library or
 * dependencies (nothing is type-checked), so it takes seconds. All entries must live in one package's src/.
 */
function program(entries: PublicEntries) {
  const src = dirname(entries["."]!);
  const files = ts.sys.readDirectory(src, [".ts"], ["**/*.test.ts"]);
  const compiled = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noLib: true,
    noResolve: true,
    types: [],
    noEmit: true,
  });
  const checker = compiled.getTypeChecker();
  const exportsOf = (file: string) => checker.getExportsOfModule(checker.getSymbolAtLocation(compiled.getSourceFile(file)!)!);
  const declared = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const inPackage = (node: ts.Node) => resolve(node.getSourceFile().fileName).startsWith(src + sep);
  return { checker, exportsOf, declared, inPackage };
}

/** Each entry's exported names, split into values (what exists at run time) and type-only names. */
export function entryExports(entries: PublicEntries): Record<string, { values: string[]; types: string[] }> {
  const { exportsOf, declared } = program(entries);
  return Object.fromEntries(
    Object.entries(entries).map(([subpath, file]) => {
      const names = exportsOf(file);
      const isValue = (symbol: ts.Symbol) => (declared(symbol).flags & ts.SymbolFlags.Value) !== 0;
      return [
        subpath,
        { values: names.filter(isValue).map((s) => s.name).sort(), types: names.filter((s) => !isValue(s)).map((s) => s.name).sort() },
      ];
    }),
  );
}

const hidden = (node: ts.Node) =>
  ((ts.isClassElement(node) || ts.isParameter(node)) && node.name !== undefined && ts.isPrivateIdentifier(node.name)) ||
  (ts.canHaveModifiers(node) && (ts.getCombinedModifierFlags(node as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0);

/**
 * The names a declaration shows its users: the types in its signatures, members and heritage, not in bodies,
 * initializers, private or protected members, or `typeof` queries (a value's type needs no name).
 */
function namedTypes(declaration: ts.Node): ts.Node[] {
  const found: ts.Node[] = [];
  const visit = (node: ts.Node | undefined): void => {
    if (!node || ts.isBlock(node) || ts.isTypeQueryNode(node) || hidden(node)) return;
    if (ts.isTypeReferenceNode(node)) found.push(node.typeName);
    else if (ts.isExpressionWithTypeArguments(node)) found.push(node.expression);
    else if (ts.isImportTypeNode(node) && node.qualifier) found.push(node.qualifier);
    if (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) return visit(node.type);
    ts.forEachChild(node, visit);
  };
  if (ts.isVariableDeclaration(declaration)) visit(declaration.type);
  else ts.forEachChild(declaration, visit);
  return found;
}

/**
 * Types of this package that an exported declaration names in what its users see, but that no entry exports:
 * "Name <- Exported" (users could receive or have to pass such a type, yet not import it).
 */
export function forgottenTypes(entries: PublicEntries): string[] {
  const { checker, exportsOf, declared, inPackage } = program(entries);
  const exported = new Set(Object.values(entries).flatMap((file) => exportsOf(file).map(declared)));
  const forgotten = new Set<string>();
  for (const symbol of exported) {
    for (const declaration of symbol.declarations ?? []) {
      if (!inPackage(declaration)) continue;
      for (const name of namedTypes(declaration)) {
        const referenced = checker.getSymbolAtLocation(name);
        const target = referenced && declared(referenced);
        const where = target?.declarations?.[0];
        if (!target || !where || !inPackage(where) || ts.isTypeParameterDeclaration(where) || exported.has(target)) continue;
        forgotten.add(`${target.name} <- ${symbol.name}`);
      }
    }
  }
  return [...forgotten];
}
