import { raChineseMessages } from './ra-zh-CN.ts';

// The platform's own words. Chinese is the reference: en-US.ts must have exactly these keys.
export const zhCNAppMessages = {
  onecard: {
    title: '中小学一卡通集中平台',
    menu: {
      status: '系统状态',
      reports: '报表',
    },
    reports: {
      title: '报表',
      report: '报表',
      run: '查询',
      export: '导出 %{format}',
      rows: '共 %{smart_count} 行',
      catalog_failed: '无法获取报表目录',
    },
    status: {
      title: '系统状态',
      overall: '平台总体状态',
      platform_version: '平台版本 %{version}',
      checked_at: '检查时间 %{time}',
      auto_refresh: '每 %{seconds} 秒自动刷新',
      loading: '正在获取系统状态…',
      fetch_failed: '无法获取系统状态',
      stale: '以下是 %{time} 的最后一次结果，可能已过时。',
      state: {
        up: '正常',
        down: '故障',
        degraded: '部分故障',
        unknown: '未知',
      },
      columns: {
        component: '组件',
        status: '状态',
        version: '版本',
        latency: '延迟',
        endpoint: '地址',
        error: '错误信息',
      },
      latency_ms: '%{ms} 毫秒',
      components: {
        postgres: '账务数据库 (PostgreSQL)',
        temporal: '流程引擎 (Temporal)',
        warehouse: '数据中心 (ClickHouse)',
        worker: '流程执行器 (Worker)',
      },
      links: {
        title: '相关链接',
        temporal_web_ui: '流程引擎控制台 (Temporal Web UI)',
        temporal_web_ui_unknown: '流程引擎控制台地址未知',
        openapi: '接口文档 (OpenAPI)',
      },
    },
    processes: {
      history: '查看流程历史',
      types: {
        lostCard: '挂失',
        cardReplacement: '补卡',
        bankTopUp: '网银圈存',
        dailySettlement: '日结',
        nightlySettlement: '夜间日结批处理',
        blacklistUpkeep: '黑名单维护',
        selfCheck: '系统自检',
      },
      statuses: {
        Running: '进行中',
        Completed: '已完成',
        Failed: '失败',
        Canceled: '已取消',
        Terminated: '已终止',
        TimedOut: '已超时',
        ContinuedAsNew: '已续跑',
      },
    },
  },
  // Field labels of the resources, filled in as the resources arrive (schools, cardholders, cards…).
  resources: {
    processes: {
      name: '流程 |||| 流程',
      fields: {
        type: '流程类型',
        workflowId: '业务键',
        status: '状态',
        startTime: '开始时间',
        historyUrl: '流程历史',
        businessKey: '业务键',
        cardNo: '卡号',
      },
    },
  },
};

export type AppMessages = typeof zhCNAppMessages;

export const zhCNMessages = { ...raChineseMessages, ...zhCNAppMessages };
