/**
 * The order a set of components starts in: every component after the ones it depends on, and
 * otherwise in the order they were given (a stable topological sort), so that independent
 * components keep the order their declaration chose. Pure: refuses duplicate names, unknown
 * dependencies and cycles with a {@link ComponentGraphError} naming them.
 */

export interface ComponentNode {
  readonly name: string;
  readonly dependsOn?: readonly string[];
}

export type ComponentGraphErrorCode =
  | "COMPONENT_DUPLICATE_NAME"
  | "COMPONENT_UNKNOWN_DEPENDENCY"
  | "COMPONENT_CYCLE";

/** A set of components that cannot be ordered: a programming error in the node's assembly. */
export class ComponentGraphError extends Error {
  readonly code: ComponentGraphErrorCode;

  constructor(code: ComponentGraphErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

export function orderComponents<C extends ComponentNode>(components: readonly C[]): C[] {
  const byName = new Map<string, C>();
  for (const component of components) {
    if (byName.has(component.name)) {
      throw new ComponentGraphError(
        "COMPONENT_DUPLICATE_NAME",
        `two components are named "${component.name}"`,
      );
    }
    byName.set(component.name, component);
  }
  for (const component of components) {
    for (const dependency of component.dependsOn ?? []) {
      if (!byName.has(dependency)) {
        throw new ComponentGraphError(
          "COMPONENT_UNKNOWN_DEPENDENCY",
          `component "${component.name}" depends on "${dependency}", which is not in the set`,
        );
      }
    }
  }
  const ordered: C[] = [];
  const placed = new Set<string>();
  // Quadratic in the number of components, which is a handful: each pass places the first
  // component (in declaration order) whose dependencies are all placed.
  while (ordered.length < components.length) {
    const next = components.find(
      (component) =>
        !placed.has(component.name) &&
        (component.dependsOn ?? []).every((dependency) => placed.has(dependency)),
    );
    if (next === undefined) {
      throw new ComponentGraphError(
        "COMPONENT_CYCLE",
        `components depend on each other in a cycle: ${findCycle(components, placed).join(" -> ")}`,
      );
    }
    ordered.push(next);
    placed.add(next.name);
  }
  return ordered;
}

/** A cycle among the unplaced components (each of them depends on another unplaced one). */
function findCycle(components: readonly ComponentNode[], placed: ReadonlySet<string>): string[] {
  const byName = new Map(components.map((component) => [component.name, component]));
  const path: string[] = [];
  let current = components.find((component) => !placed.has(component.name))!;
  while (!path.includes(current.name)) {
    path.push(current.name);
    const dependency = (current.dependsOn ?? []).find((name) => !placed.has(name))!;
    current = byName.get(dependency)!;
  }
  return [...path.slice(path.indexOf(current.name)), current.name];
}
