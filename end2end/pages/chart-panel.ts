import { expect, type Locator, type Page } from "@playwright/test";

/** The window of time the chart shows, in milliseconds since the epoch. */
export interface ChartWindow {
  start: number;
  end: number;
}

/** The market page's chart, as a test sees it: `data-testid` hooks and data attributes. */
export class ChartPanel {
  readonly section: Locator;
  /** The focusable frame around the SVG (keyboard zoom and pan). */
  readonly plot: Locator;
  readonly svg: Locator;
  readonly live: Locator;
  readonly lastTag: Locator;
  readonly priceTicks: Locator;
  readonly timeTicks: Locator;
  readonly readout: Locator;

  constructor(readonly page: Page) {
    this.section = page.getByTestId("chart");
    this.plot = this.section.getByTestId("chart-plot");
    this.svg = this.plot.locator("svg");
    this.live = this.section.getByTestId("chart-live");
    this.lastTag = this.section.getByTestId("chart-last-tag");
    this.priceTicks = this.section.getByTestId("chart-price-tick");
    this.timeTicks = this.section.getByTestId("chart-time-tick");
    this.readout = this.section.getByTestId("chart-readout");
  }

  /** The window shown, from `data-view-start` and `data-view-end`. */
  async window(): Promise<ChartWindow> {
    const [start, end] = await Promise.all([
      this.section.getAttribute("data-view-start"),
      this.section.getAttribute("data-view-end"),
    ]);
    return { start: Number(start), end: Number(end) };
  }

  async span(): Promise<number> {
    const { start, end } = await this.window();
    return end - start;
  }

  /** The SVG's box on the page; fails the test if it is not rendered. */
  async box(): Promise<{ x: number; y: number; width: number; height: number }> {
    const box = await this.svg.boundingBox();
    expect(box, "the chart's SVG is rendered").not.toBeNull();
    return box ?? { x: 0, y: 0, width: 0, height: 0 };
  }

  /**
   * Widths in CSS pixels: the chart panel's content box, the SVG's box, and the SVG's
   * viewBox (the width the chart laid itself out for).
   */
  async widths(): Promise<{ panel: number; svg: number; viewBox: number }> {
    return this.section.evaluate((section) => {
      const style = getComputedStyle(section);
      const panel =
        section.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const svg = section.querySelector('[data-testid="chart-plot"] svg');
      const viewBox = (svg?.getAttribute("viewBox") ?? "").split(" ").map(Number);
      return {
        panel,
        svg: svg?.getBoundingClientRect().width ?? 0,
        viewBox: viewBox[2] ?? 0,
      };
    });
  }
}
