/**
 * The reports the console and the merchant portal ask for. Each reads one dbt mart in the analytics
 * database with ClickHouse server-side parameters ({name:Type}); a request's values are only ever bound,
 * never spliced into SQL. The query-string schema names every parameter, so a bad one is a 400 naming it.
 */

export const analyticsDatabase = 'onecard_analytics';

type ParamType = 'String' | 'Date' | 'UInt16';
export interface ReportParam {
  type: ParamType;
  description: string;
  /** JSON schema for the query-string value. */
  schema: Record<string, unknown>;
}

export interface ReportDefinition {
  title: string;
  params: Record<string, ReportParam>;
  sql: string;
}

const id = (description: string): ReportParam => ({
  type: 'String',
  description,
  schema: { type: 'string', pattern: '^[A-Z0-9-]{2,32}$' },
});
const date = (description: string): ReportParam => ({
  type: 'Date',
  description,
  schema: { type: 'string', format: 'date' },
});
const merchantId = id('merchant id');
const schoolId = id('school id');
const unitId = id('accounting unit id (a school id, or BUREAU)');
const from = date('first day, inclusive (YYYY-MM-DD)');
const to = date('last day, inclusive (YYYY-MM-DD)');
const range = { from, to };
const between = (column: string) => `${column} between {from:Date} and {to:Date}`;
const db = analyticsDatabase;

export const reports: Record<string, ReportDefinition> = {
  'merchant-daily': {
    title: '商户日报 merchant takings per day',
    params: { merchantId, ...range },
    sql: `select * from ${db}.mart_merchant_daily_takings
           where merchant_id = {merchantId:String} and ${between('business_date')} order by business_date`,
  },
  'merchant-monthly': {
    title: '商户月报 merchant takings per month of a year',
    params: {
      merchantId,
      year: {
        type: 'UInt16',
        description: 'calendar year',
        schema: { type: 'string', pattern: '^20[0-9]{2}$' },
      },
    },
    sql: `select * from ${db}.mart_merchant_monthly_takings
           where merchant_id = {merchantId:String} and toYear(business_month) = {year:UInt16} order by business_month`,
  },
  'merchant-period': {
    title: '商户期报 merchant takings over a period, by meal period',
    params: { merchantId, ...range },
    sql: `select merchant_id, meal_period, sum(purchases) as purchases, sum(purchase_fen) as purchase_fen,
                 sum(refund_fen) as refund_fen, sum(reversal_fen) as reversal_fen, sum(net_takings_fen) as net_takings_fen
            from ${db}.mart_merchant_meal_period_takings
           where merchant_id = {merchantId:String} and ${between('business_date')}
           group by merchant_id, meal_period order by meal_period`,
  },
  'merchant-annual': {
    title: '商户年报 merchant takings per year',
    params: { merchantId },
    sql: `select * from ${db}.mart_merchant_annual_takings where merchant_id = {merchantId:String} order by business_year`,
  },
  'merchant-analysis': {
    title: '商户营业状况分析 merchants of a school in a month',
    params: { schoolId, month: date('any day of the month') },
    sql: `select * from ${db}.mart_merchant_analysis_monthly
           where school_id = {schoolId:String} and business_month = toStartOfMonth({month:Date})
           order by net_takings_fen desc`,
  },
  'cashier-daily': {
    title: '出纳报表 cash in and out per day',
    params: { unitId, ...range },
    sql: `select * from ${db}.mart_cashier_daily
           where unit_id = {unitId:String} and ${between('business_date')} order by business_date, transaction_kind`,
  },
  'finance-daily': {
    title: '财务报表 debits and credits per account subject',
    params: { unitId, ...range },
    sql: `select * from ${db}.mart_finance_daily_subjects
           where unit_id = {unitId:String} and ${between('business_date')} order by business_date, subject_code`,
  },
  'top-ups': {
    title: '充值报表 top-ups per day and method',
    params: { schoolId, ...range },
    sql: `select * from ${db}.mart_top_ups_daily
           where school_id = {schoolId:String} and ${between('business_date')} order by business_date, top_up_method`,
  },
  'top-up-reconciliation': {
    title: '圈存对账 top-up reconciliation',
    params: { unitId, ...range },
    sql: `select * from ${db}.mart_top_up_reconciliation_daily
           where unit_id = {unitId:String} and ${between('business_date')} order by business_date`,
  },
  subsidies: {
    title: '补助报表 subsidies issued and cleared per batch',
    params: range,
    sql: `select * from ${db}.mart_subsidies_daily where ${between('business_date')} order by business_date, subsidy_batch_id`,
  },
  transfers: {
    title: '转帐报表 transfers per day',
    params: { schoolId, ...range },
    sql: `select * from ${db}.mart_transfers_daily
           where school_id = {schoolId:String} and ${between('business_date')} order by business_date`,
  },
  'attendance-school': {
    title: '考勤日报 (全校) school attendance',
    params: { schoolId, ...range },
    sql: `select * from ${db}.mart_attendance_daily_school
           where school_id = {schoolId:String} and ${between('attendance_date')} order by attendance_date`,
  },
  'attendance-grade': {
    title: '考勤日报 (年级) attendance per grade',
    params: { schoolId, date: date('school day') },
    sql: `select * from ${db}.mart_attendance_daily_grade
           where school_id = {schoolId:String} and attendance_date = {date:Date} order by grade`,
  },
  'attendance-class': {
    title: '考勤日报 (班级) attendance per class',
    params: { schoolId, date: date('school day') },
    sql: `select * from ${db}.mart_attendance_daily_class
           where school_id = {schoolId:String} and attendance_date = {date:Date} order by grade, class_name`,
  },
  'attendance-students': {
    title: '考勤明细 students late, leaving early or absent on a day',
    params: { schoolId, date: date('school day') },
    sql: `select * from ${db}.mart_attendance_daily_student
           where school_id = {schoolId:String} and attendance_date = {date:Date}
             and (is_late or is_early_leave or is_absent)
           order by grade, class_name, person_no`,
  },
  'dorm-returns': {
    title: '宿舍考勤 dorm returns on a day',
    params: { schoolId, date: date('day') },
    sql: `select * from ${db}.mart_dorm_returns_daily
           where school_id = {schoolId:String} and swipe_date = {date:Date} order by returned, grade, class_name`,
  },
  'bus-ridership': {
    title: '校车乘车 bus ridership',
    params: { schoolId, ...range },
    sql: `select * from ${db}.mart_bus_ridership_daily
           where school_id = {schoolId:String} and ${between('swipe_date')} order by swipe_date, terminal_id`,
  },
  'cardholder-spending': {
    title: '持卡人消费分析 cardholders of a school in a month',
    params: { schoolId, month: date('any day of the month') },
    sql: `select * from ${db}.mart_cardholder_spending_monthly
           where school_id = {schoolId:String} and business_month = toStartOfMonth({month:Date})
           order by spend_fen desc`,
  },
  'blacklist-consumption': {
    title: '黑名单消费 purchases on blacklisted, frozen or cancelled cards',
    params: { schoolId, ...range },
    sql: `select * from ${db}.exc_blacklist_consumption
           where school_id = {schoolId:String} and ${between('business_date')} order by booked_at`,
  },
  reversals: {
    title: '冲帐 reversals and refunds',
    params: { schoolId, ...range },
    sql: `select * from ${db}.exc_reversals
           where school_id = {schoolId:String} and ${between('business_date')} order by booked_at`,
  },
  'offline-records': {
    title: '脱机消费 offline purchase records',
    params: { schoolId, ...range },
    sql: `select * from ${db}.exc_offline_records
           where school_id = {schoolId:String} and ${between('business_date')} order by uploaded_at`,
  },
  'card-differences': {
    title: '卡库不平 card-vs-database differences',
    params: { schoolId, ...range },
    sql: `select * from ${db}.exc_card_database_differences
           where school_id = {schoolId:String} and ${between('report_date')} order by reported_at`,
  },
  'standard-card-data-v1': {
    title: '上报 standard school card data, version 1',
    params: { month: date('any day of the month') },
    sql: `select * from ${db}.export_standard_card_data_v1
           where report_month = toStartOfMonth({month:Date}) order by school_id`,
  },
};
