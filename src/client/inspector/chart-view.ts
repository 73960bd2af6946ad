/**
 * Draws a chart layout (chart-layout.ts) in SVG and keeps it showing an actor's state: active
 * states highlighted, the transition just taken marked and drawn as an arrow to its target.
 * The drawing is built once per definition; a new state only changes classes and the arrow.
 * Everything is attributes and classes: no inline styles (the page's CSP forbids them).
 */
import { borderPoint, CHART_METRICS, layoutChart, type ChartBox, type ChartLayout } from './chart-layout.js';
import type { ChartTransition, Statechart } from './statechart-model.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Record<string, string | number> = {},
  parent?: Element,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  parent?.append(element);
  return element;
}

/** A drawn chart. */
export interface ChartView {
  readonly element: SVGSVGElement;
  readonly layout: ChartLayout;
  /** Highlights `active` state ids and marks `taken` transitions. */
  show(active: ReadonlySet<string>, taken: readonly ChartTransition[]): void;
}

/** Draws `chart`, flowing children within `maxWidth`. */
export function drawChart(chart: Statechart, maxWidth: number): ChartView {
  const layout = layoutChart(chart, { maxWidth });
  const root = svg('svg', {
    class: 'chart',
    width: layout.width,
    height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    role: 'img',
    'aria-label': `Statechart of ${chart.root.key}`,
  });
  const defs = svg('defs', {}, root);
  const marker = svg(
    'marker',
    {
      id: 'arrow',
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    },
    defs,
  );
  svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }, marker);

  const stateGroups = new Map<string, SVGGElement>();
  const rowTexts = new Map<ChartTransition, SVGTextElement>();
  const rowEnds = new Map<ChartTransition, { x: number; y: number }>();

  const drawBox = (box: ChartBox, parent: Element, parentKind: string | undefined) => {
    const { state } = box;
    const group = svg(
      'g',
      { class: `state ${state.kind}${parentKind === 'parallel' ? ' region' : ''}`, 'data-state-id': state.id },
      parent,
    );
    svg('rect', { x: box.x, y: box.y, width: box.width, height: box.height, rx: 7, ry: 7 }, group);
    const label = svg('text', { x: box.x + 8, y: box.y + 15, class: 'state-name' }, group);
    label.textContent = state.id === '' ? state.key : state.key + (state.kind === 'final' ? ' (final)' : '');
    if (state.invokes.length > 0) {
      const invoke = svg(
        'text',
        { x: box.x + box.width - 8, y: box.y + 15, class: 'invoke', 'text-anchor': 'end' },
        group,
      );
      invoke.textContent = '⚙';
      svg('title', {}, invoke).textContent = `invokes ${state.invokes.join(', ')}`;
    }
    if (state.tags.length > 0) svg('title', {}, group).textContent = `tags: ${state.tags.join(', ')}`;
    for (const row of box.rows) {
      const text = svg('text', { x: row.x, y: row.y, class: 'transition' }, group);
      text.textContent = row.text;
      svg('title', {}, text).textContent = row.title;
      rowTexts.set(row.transition, text);
      rowEnds.set(row.transition, { x: row.x + row.text.length * CHART_METRICS.charWidth + 4, y: row.y - 4 });
    }
    for (const child of box.children) drawBox(child, group, state.kind);
  };
  drawBox(layout.root, root, undefined);
  for (const group of root.querySelectorAll<SVGGElement>('g[data-state-id]'))
    stateGroups.set(group.dataset['stateId'] ?? '', group);
  const arrows = svg('g', { class: 'arrows' }, root);

  const arrowFor = (transition: ChartTransition, target: string) => {
    const start = rowEnds.get(transition);
    const box = layout.boxes.get(target);
    if (start === undefined || box === undefined) return;
    const inside =
      start.x >= box.x && start.x <= box.x + box.width && start.y >= box.y && start.y <= box.y + box.height;
    if (inside) {
      // The target contains the row (a self or ancestor transition): a small loop back.
      svg(
        'path',
        {
          d: `M${start.x},${start.y} c18,-14 30,8 4,8`,
          class: 'taken-arrow',
          'marker-end': 'url(#arrow)',
        },
        arrows,
      );
      return;
    }
    const end = borderPoint(box, start.x, start.y);
    const bend = Math.min(60, Math.hypot(end.x - start.x, end.y - start.y) / 4);
    svg(
      'path',
      {
        d: `M${start.x},${start.y} Q${(start.x + end.x) / 2 + bend},${(start.y + end.y) / 2 - bend} ${end.x},${end.y}`,
        class: 'taken-arrow',
        'marker-end': 'url(#arrow)',
      },
      arrows,
    );
  };

  return {
    element: root,
    layout,
    show(active, taken) {
      for (const [id, group] of stateGroups) {
        const isActive = id === '' || active.has(id);
        group.classList.toggle('active', isActive);
        const state = layout.chart.states.get(id);
        const leaf = isActive && state !== undefined && state.children.length === 0 && id !== '';
        group.classList.toggle('active-leaf', leaf);
      }
      const takenSet = new Set(taken);
      for (const [transition, text] of rowTexts) text.classList.toggle('taken', takenSet.has(transition));
      arrows.replaceChildren();
      for (const transition of taken) for (const target of transition.targets) arrowFor(transition, target);
    },
  };
}
