/**
 * Writes the dashboards' JSON files from their one definition (constructs/dashboards/): `npm run dashboards`.
 * test/dashboards checks the files are what this writes, so an edit to the panels without this step fails the tests.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cloudMonitoringDashboard } from '../constructs/dashboards/cloud-monitoring';
import { grafanaDashboard } from '../constructs/dashboards/grafana';

export const DASHBOARD_FILES = {
  grafana: 'dashboards/inference-server.grafana.json',
  cloudMonitoring: 'dashboards/inference-server.cloud-monitoring.json',
} as const;

export function dashboardFileContents(): Record<keyof typeof DASHBOARD_FILES, string> {
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return { grafana: text(grafanaDashboard()), cloudMonitoring: text(cloudMonitoringDashboard()) };
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const contents = dashboardFileContents();
  for (const key of Object.keys(DASHBOARD_FILES) as Array<keyof typeof DASHBOARD_FILES>) {
    const file = path.join(root, DASHBOARD_FILES[key]);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents[key]);
    console.log(DASHBOARD_FILES[key]);
  }
}
