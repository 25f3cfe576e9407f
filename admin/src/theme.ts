import { defaultTheme, type RaThemeOptions } from 'react-admin';

// Chinese first: name CJK fonts explicitly so every platform picks a proper one instead of a fallback.
const fontFamily = [
  'Roboto',
  '"Noto Sans CJK SC"',
  '"Noto Sans SC"',
  '"PingFang SC"',
  '"Microsoft YaHei"',
  '"Helvetica Neue"',
  'Arial',
  'sans-serif',
].join(',');

export const theme: RaThemeOptions = {
  ...defaultTheme,
  typography: { ...defaultTheme.typography, fontFamily },
};
