import englishMessages from 'ra-language-english';
import type { AppMessages } from './zh-CN.ts';

export const enUSAppMessages: AppMessages = {
  onecard: {
    title: 'K-12 One-Card Platform',
    menu: {
      status: 'System status',
      reports: 'Reports',
    },
    reports: {
      title: 'Reports',
      report: 'Report',
      run: 'Run',
      export: 'Export %{format}',
      rows: '1 row |||| %{smart_count} rows',
      catalog_failed: 'Cannot fetch the list of reports',
    },
    status: {
      title: 'System status',
      overall: 'Platform status',
      platform_version: 'Platform version %{version}',
      checked_at: 'Checked at %{time}',
      auto_refresh: 'Refreshes every %{seconds} s',
      loading: 'Fetching system status…',
      fetch_failed: 'Cannot fetch the system status',
      stale: 'Showing the last result, from %{time}; it may be out of date.',
      state: {
        up: 'Up',
        down: 'Down',
        degraded: 'Degraded',
        unknown: 'Unknown',
      },
      columns: {
        component: 'Component',
        status: 'Status',
        version: 'Version',
        latency: 'Latency',
        endpoint: 'Endpoint',
        error: 'Error',
      },
      latency_ms: '%{ms} ms',
      components: {
        postgres: 'Ledger database (PostgreSQL)',
        temporal: 'Workflow engine (Temporal)',
        warehouse: 'Data warehouse (ClickHouse)',
        worker: 'Workflow worker (Worker)',
      },
      links: {
        title: 'Links',
        temporal_web_ui: 'Temporal Web UI',
        temporal_web_ui_unknown: 'Temporal Web UI address unknown',
        openapi: 'API reference (OpenAPI)',
      },
    },
    processes: {
      history: 'Open its history',
      types: {
        lostCard: 'Lost card (挂失)',
        cardReplacement: 'Card replacement (补卡)',
        bankTopUp: 'Bank top-up (网银圈存)',
        dailySettlement: 'Daily settlement (日结)',
        nightlySettlement: 'Nightly settlement run',
        blacklistUpkeep: 'Blacklist upkeep',
        selfCheck: 'Self-check',
      },
      statuses: {
        Running: 'Running',
        Completed: 'Completed',
        Failed: 'Failed',
        Canceled: 'Canceled',
        Terminated: 'Terminated',
        TimedOut: 'Timed out',
        ContinuedAsNew: 'Continued as new',
      },
    },
  },
  resources: {
    processes: {
      name: 'Process |||| Processes',
      fields: {
        type: 'Process',
        workflowId: 'Business key',
        status: 'Status',
        startTime: 'Started',
        historyUrl: 'History',
        businessKey: 'Business key',
        cardNo: 'Card number',
      },
    },
  },
};

export const enUSMessages = { ...englishMessages, ...enUSAppMessages };
