import {
  DataTable,
  DateField,
  List,
  SelectInput,
  TextInput,
  useRecordContext,
  useTranslate,
} from 'react-admin';
import Link from '@mui/material/Link';
import OpenInNewIcon from '@mui/icons-material/OpenInNew';

interface ProcessRecord {
  id: string;
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  historyUrl: string | null;
}

const types = [
  'lostCard',
  'cardReplacement',
  'bankTopUp',
  'dailySettlement',
  'nightlySettlement',
  'blacklistUpkeep',
  'selfCheck',
];
const statuses = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut'];

const TypeField = () => {
  const record = useRecordContext<ProcessRecord>();
  const translate = useTranslate();
  return record ? <>{translate(`onecard.processes.types.${record.type}`, { _: record.type })}</> : null;
};

const StatusField = () => {
  const record = useRecordContext<ProcessRecord>();
  const translate = useTranslate();
  return record ? (
    <span data-testid={`process-status-${record.workflowId}`}>
      {translate(`onecard.processes.statuses.${record.status}`, { _: record.status })}
    </span>
  ) : null;
};

/** Opens the process's own history in the Temporal Web UI, where operators see every step it took. */
const HistoryLink = () => {
  const record = useRecordContext<ProcessRecord>();
  const translate = useTranslate();
  if (!record?.historyUrl) return null;
  return (
    <Link
      href={record.historyUrl}
      target="_blank"
      rel="noopener noreferrer"
      data-testid={`process-history-${record.workflowId}`}
      onClick={(event) => event.stopPropagation()}
    >
      {translate('onecard.processes.history')} <OpenInNewIcon fontSize="inherit" />
    </Link>
  );
};

const filters = [
  <TextInput key="businessKey" source="businessKey" alwaysOn />,
  <TextInput key="cardNo" source="cardNo" />,
  <SelectInput
    key="type"
    source="type"
    choices={types.map((id) => ({ id, name: `onecard.processes.types.${id}` }))}
  />,
  <SelectInput
    key="status"
    source="status"
    choices={statuses.map((id) => ({ id, name: `onecard.processes.statuses.${id}` }))}
  />,
];

export const ProcessList = () => (
  <List filters={filters} sort={{ field: 'startTime', order: 'DESC' }} perPage={25}>
    <DataTable rowClick={false} bulkActionButtons={false}>
      <DataTable.Col source="type" disableSort render={() => <TypeField />} />
      <DataTable.Col source="workflowId" disableSort />
      <DataTable.Col source="status" disableSort render={() => <StatusField />} />
      <DataTable.Col source="startTime" disableSort>
        <DateField source="startTime" showTime />
      </DataTable.Col>
      <DataTable.Col source="historyUrl" disableSort render={() => <HistoryLink />} />
    </DataTable>
  </List>
);
