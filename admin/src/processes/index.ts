import AccountTreeIcon from '@mui/icons-material/AccountTree';
import { ProcessList } from './ProcessList.tsx';

// 流程: read-only; each process is started by the API or a schedule and opened in the Temporal Web UI.
export default { list: ProcessList, icon: AccountTreeIcon };
