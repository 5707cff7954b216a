// k6's custom metrics: every value added, by metric name.
export const recorded = new Map();

class Metric {
  constructor(name) {
    this.name = name;
    recorded.set(name, []);
  }
  add(value) {
    recorded.get(this.name).push(value);
  }
}
export class Counter extends Metric {}
export class Trend extends Metric {}
export class Rate extends Metric {}
export class Gauge extends Metric {}

export const total = (name) => (recorded.get(name) ?? []).reduce((a, b) => a + b, 0);
