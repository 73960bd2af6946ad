/**
 * Lays a statechart out as nested boxes, without the DOM (so it is tested in Node): each state
 * a box with its name and one row per transition (`event [guard] → target`), the children of a
 * compound or parallel state flowed left to right inside it, wrapping at `maxWidth`. Text is a
 * monospace font of known width, so sizes are computed, not measured.
 */
import type { ChartState, ChartTransition, Statechart } from './statechart-model.js';

/** Sizes, in SVG user units (pixels at 100 %). */
export interface ChartMetrics {
  /** Width of one character of the monospace font. */
  readonly charWidth: number;
  readonly headerHeight: number;
  readonly rowHeight: number;
  readonly padding: number;
  /** Space between sibling boxes. */
  readonly gap: number;
  /** Widest a row of children may get before it wraps. */
  readonly maxWidth: number;
  /** Longest transition text shown in full, in characters (the rest is in its tooltip). */
  readonly maxRowChars: number;
  readonly minBoxWidth: number;
}

/** Metrics for the viewer's 11px monospace text. */
export const CHART_METRICS: ChartMetrics = {
  charWidth: 6.7,
  headerHeight: 22,
  rowHeight: 15,
  padding: 8,
  gap: 14,
  maxWidth: 1000,
  maxRowChars: 52,
  minBoxWidth: 84,
};

/** One transition as drawn: its text, where it sits, and its whole description. */
export interface ChartRow {
  readonly transition: ChartTransition;
  readonly text: string;
  /** The full description (tooltip): event, guard, targets and actions. */
  readonly title: string;
  readonly x: number;
  /** Baseline of the text. */
  readonly y: number;
}

/** One state as drawn. */
export interface ChartBox {
  readonly state: ChartState;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly rows: readonly ChartRow[];
  readonly children: readonly ChartBox[];
}

/** The whole drawing. */
export interface ChartLayout {
  readonly chart: Statechart;
  readonly root: ChartBox;
  readonly width: number;
  readonly height: number;
  /** Every box by state id. */
  readonly boxes: ReadonlyMap<string, ChartBox>;
}

/**
 * How each state id is shown as a target: its key where that is unique in the chart, else the
 * shortest unique dotted suffix (`stable.idle` beside `haveLocalOffer.idle`).
 */
export function targetNames(chart: Statechart): Map<string, string> {
  const ids = [...chart.states.keys()].filter((id) => id !== '');
  const names = new Map<string, string>([['', chart.root.key]]);
  for (const id of ids) {
    const parts = id.split('.');
    for (let n = 1; n <= parts.length; n++) {
      const suffix = parts.slice(-n).join('.');
      const clashes = ids.some((other) => other !== id && (other === suffix || other.endsWith(`.${suffix}`)));
      if (!clashes || n === parts.length) {
        names.set(id, suffix);
        break;
      }
    }
  }
  return names;
}

/** `event [guard] → target`, or `event [guard] / actions` for a transition without target. */
export function transitionText(transition: ChartTransition, names: ReadonlyMap<string, string>): string {
  const guard = transition.guard === undefined ? '' : ` [${transition.guard}]`;
  const targets = [...transition.targets.map((id) => names.get(id) ?? id), ...transition.unresolved];
  if (targets.length > 0) return `${transition.label}${guard} → ${targets.join(', ')}`;
  return `${transition.label}${guard} / ${transition.actions.join(', ') || 'nothing'}`;
}

function transitionTitle(transition: ChartTransition, names: ReadonlyMap<string, string>): string {
  const lines = [transitionText(transition, names)];
  if (transition.eventType !== transition.label && transition.eventType !== '')
    lines.push(`event: ${transition.eventType}`);
  if (transition.actions.length > 0) lines.push(`actions: ${transition.actions.join(', ')}`);
  return lines.join('\n');
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** A box measured but not placed: children positions relative to its top-left corner. */
interface Measured {
  readonly state: ChartState;
  readonly width: number;
  readonly height: number;
  readonly rows: readonly { transition: ChartTransition; text: string; title: string }[];
  readonly children: readonly { box: Measured; dx: number; dy: number }[];
}

/** Lays `chart` out; `metrics` default to {@link CHART_METRICS}. */
export function layoutChart(chart: Statechart, metrics: Partial<ChartMetrics> = {}): ChartLayout {
  const m = { ...CHART_METRICS, ...metrics };
  const names = targetNames(chart);

  const measure = (state: ChartState): Measured => {
    const rows = state.transitions.map((transition) => ({
      transition,
      text: clip(transitionText(transition, names), m.maxRowChars),
      title: transitionTitle(transition, names),
    }));
    const header = state.id === '' ? state.key : state.key + (state.kind === 'final' ? ' (final)' : '');
    const headerWidth = (header.length + 2) * m.charWidth + (state.invokes.length > 0 ? 16 : 0);
    const rowsWidth = Math.max(0, ...rows.map((row) => row.text.length * m.charWidth));
    const top = m.headerHeight + rows.length * m.rowHeight + (rows.length > 0 ? 4 : 0);

    // Flow the children in lines.
    const measured = state.children.map(measure);
    const children: { box: Measured; dx: number; dy: number }[] = [];
    let lineWidth = 0;
    let lineHeight = 0;
    let y = 0;
    let contentWidth = 0;
    for (const box of measured) {
      if (lineWidth > 0 && lineWidth + m.gap + box.width > m.maxWidth) {
        y += lineHeight + m.gap;
        lineWidth = 0;
        lineHeight = 0;
      }
      const dx = lineWidth === 0 ? 0 : lineWidth + m.gap;
      children.push({ box, dx: m.padding + dx, dy: top + y });
      lineWidth = dx + box.width;
      lineHeight = Math.max(lineHeight, box.height);
      contentWidth = Math.max(contentWidth, lineWidth);
    }
    const contentHeight = measured.length === 0 ? 0 : y + lineHeight + m.padding;
    const width = Math.ceil(Math.max(m.minBoxWidth, headerWidth, rowsWidth, contentWidth) + 2 * m.padding);
    const height = Math.ceil(top + contentHeight + (measured.length === 0 ? m.padding / 2 : 0));
    return { state, width, height, rows, children };
  };

  const boxes = new Map<string, ChartBox>();
  const place = (measured: Measured, x: number, y: number): ChartBox => {
    const box: ChartBox = {
      state: measured.state,
      x,
      y,
      width: measured.width,
      height: measured.height,
      rows: measured.rows.map((row, index) => ({
        ...row,
        x: x + m.padding,
        y: y + m.headerHeight + (index + 1) * m.rowHeight - 3,
      })),
      children: measured.children.map(({ box: child, dx, dy }) => place(child, x + dx, y + dy)),
    };
    boxes.set(box.state.id, box);
    return box;
  };
  const margin = 2;
  const root = place(measure(chart.root), margin, margin);
  return { chart, root, width: root.width + 2 * margin, height: root.height + 2 * margin, boxes };
}

/** A point on the border of `box` on the way from its centre towards (`towardX`, `towardY`). */
export function borderPoint(box: ChartBox, towardX: number, towardY: number): { x: number; y: number } {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const dx = towardX - cx;
  const dy = towardY - cy;
  if (dx === 0 && dy === 0) return { x: cx, y: box.y };
  const scale = Math.min(
    dx === 0 ? Infinity : box.width / 2 / Math.abs(dx),
    dy === 0 ? Infinity : box.height / 2 / Math.abs(dy),
  );
  return { x: cx + dx * scale, y: cy + dy * scale };
}
