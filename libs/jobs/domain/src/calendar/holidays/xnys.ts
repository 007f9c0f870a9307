import type { HolidayTable } from './holiday-table.js';

/**
 * New York Stock Exchange (MIC XNYS): every weekday the NYSE equity markets are closed all day,
 * 2018-2030. Data, not rules: the spec recomputes each regular holiday from NYSE Rule 7.2 and
 * fails on any difference, so a typo here cannot go unnoticed.
 */
export const XNYS_HOLIDAYS: HolidayTable = {
  calendar: 'XNYS',
  name: 'New York Stock Exchange',
  timezone: 'America/New_York',
  years: { from: 2018, to: 2030 },
  sources: [
    { title: 'NYSE: Holidays & Trading Hours', url: 'https://www.nyse.com/markets/hours-calendars' },
    { title: 'NYSE Rules, Rule 7.2 (Holidays)', url: 'https://nyseguide.srorules.com/rules' },
    {
      title: 'Juneteenth National Independence Day Act (S.475, 117th Congress)',
      url: 'https://www.congress.gov/bill/117th-congress/senate-bill/475',
    },
  ],
  notes:
    'Full-day closures of the NYSE equity markets on weekdays (weekends are not listed). Regular holidays: ' +
    "New Year's Day, Martin Luther King, Jr. Day (third Monday of January), Washington's Birthday (third Monday of " +
    'February), Good Friday, Memorial Day (last Monday of May), Juneteenth National Independence Day (19 June, from ' +
    '2022), Independence Day (4 July), Labor Day (first Monday of September), Thanksgiving Day (fourth Thursday of ' +
    'November) and Christmas Day. NYSE Rule 7.2: a holiday on a Saturday is observed on the Friday before and one on ' +
    'a Sunday on the Monday after, unless unusual business conditions exist such as the end of a monthly or yearly ' +
    "accounting period; so a Saturday New Year's Day (2022, 2028) is not observed on Friday 31 December. Special " +
    'closures announced by NYSE Group: Wednesday 5 December 2018 (national day of mourning for President George H.W. ' +
    'Bush) and Thursday 9 January 2025 (national day of mourning for former President Jimmy Carter). 2018-2027 are ' +
    'as published by NYSE; entries marked derived (2028-2030) are computed from the standing rules, as NYSE publishes ' +
    'about three years ahead, and may change (e.g. a national day of mourning). Early closes (1:00 p.m. on the day ' +
    'before Independence Day, the day after Thanksgiving and Christmas Eve) are not closures and are left out.',
  holidays: [
    // 2018
    { date: '2018-01-01', name: "New Year's Day" },
    { date: '2018-01-15', name: 'Martin Luther King, Jr. Day' },
    { date: '2018-02-19', name: "Washington's Birthday" },
    { date: '2018-03-30', name: 'Good Friday' },
    { date: '2018-05-28', name: 'Memorial Day' },
    { date: '2018-07-04', name: 'Independence Day' },
    { date: '2018-09-03', name: 'Labor Day' },
    { date: '2018-11-22', name: 'Thanksgiving Day' },
    { date: '2018-12-05', name: 'National Day of Mourning for President George H.W. Bush' },
    { date: '2018-12-25', name: 'Christmas Day' },
    // 2019
    { date: '2019-01-01', name: "New Year's Day" },
    { date: '2019-01-21', name: 'Martin Luther King, Jr. Day' },
    { date: '2019-02-18', name: "Washington's Birthday" },
    { date: '2019-04-19', name: 'Good Friday' },
    { date: '2019-05-27', name: 'Memorial Day' },
    { date: '2019-07-04', name: 'Independence Day' },
    { date: '2019-09-02', name: 'Labor Day' },
    { date: '2019-11-28', name: 'Thanksgiving Day' },
    { date: '2019-12-25', name: 'Christmas Day' },
    // 2020
    { date: '2020-01-01', name: "New Year's Day" },
    { date: '2020-01-20', name: 'Martin Luther King, Jr. Day' },
    { date: '2020-02-17', name: "Washington's Birthday" },
    { date: '2020-04-10', name: 'Good Friday' },
    { date: '2020-05-25', name: 'Memorial Day' },
    { date: '2020-07-03', name: 'Independence Day (observed)' },
    { date: '2020-09-07', name: 'Labor Day' },
    { date: '2020-11-26', name: 'Thanksgiving Day' },
    { date: '2020-12-25', name: 'Christmas Day' },
    // 2021
    { date: '2021-01-01', name: "New Year's Day" },
    { date: '2021-01-18', name: 'Martin Luther King, Jr. Day' },
    { date: '2021-02-15', name: "Washington's Birthday" },
    { date: '2021-04-02', name: 'Good Friday' },
    { date: '2021-05-31', name: 'Memorial Day' },
    { date: '2021-07-05', name: 'Independence Day (observed)' },
    { date: '2021-09-06', name: 'Labor Day' },
    { date: '2021-11-25', name: 'Thanksgiving Day' },
    { date: '2021-12-24', name: 'Christmas Day (observed)' },
    // 2022
    { date: '2022-01-17', name: 'Martin Luther King, Jr. Day' },
    { date: '2022-02-21', name: "Washington's Birthday" },
    { date: '2022-04-15', name: 'Good Friday' },
    { date: '2022-05-30', name: 'Memorial Day' },
    { date: '2022-06-20', name: 'Juneteenth National Independence Day (observed)' },
    { date: '2022-07-04', name: 'Independence Day' },
    { date: '2022-09-05', name: 'Labor Day' },
    { date: '2022-11-24', name: 'Thanksgiving Day' },
    { date: '2022-12-26', name: 'Christmas Day (observed)' },
    // 2023
    { date: '2023-01-02', name: "New Year's Day (observed)" },
    { date: '2023-01-16', name: 'Martin Luther King, Jr. Day' },
    { date: '2023-02-20', name: "Washington's Birthday" },
    { date: '2023-04-07', name: 'Good Friday' },
    { date: '2023-05-29', name: 'Memorial Day' },
    { date: '2023-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2023-07-04', name: 'Independence Day' },
    { date: '2023-09-04', name: 'Labor Day' },
    { date: '2023-11-23', name: 'Thanksgiving Day' },
    { date: '2023-12-25', name: 'Christmas Day' },
    // 2024
    { date: '2024-01-01', name: "New Year's Day" },
    { date: '2024-01-15', name: 'Martin Luther King, Jr. Day' },
    { date: '2024-02-19', name: "Washington's Birthday" },
    { date: '2024-03-29', name: 'Good Friday' },
    { date: '2024-05-27', name: 'Memorial Day' },
    { date: '2024-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2024-07-04', name: 'Independence Day' },
    { date: '2024-09-02', name: 'Labor Day' },
    { date: '2024-11-28', name: 'Thanksgiving Day' },
    { date: '2024-12-25', name: 'Christmas Day' },
    // 2025
    { date: '2025-01-01', name: "New Year's Day" },
    { date: '2025-01-09', name: 'National Day of Mourning for President Jimmy Carter' },
    { date: '2025-01-20', name: 'Martin Luther King, Jr. Day' },
    { date: '2025-02-17', name: "Washington's Birthday" },
    { date: '2025-04-18', name: 'Good Friday' },
    { date: '2025-05-26', name: 'Memorial Day' },
    { date: '2025-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2025-07-04', name: 'Independence Day' },
    { date: '2025-09-01', name: 'Labor Day' },
    { date: '2025-11-27', name: 'Thanksgiving Day' },
    { date: '2025-12-25', name: 'Christmas Day' },
    // 2026
    { date: '2026-01-01', name: "New Year's Day" },
    { date: '2026-01-19', name: 'Martin Luther King, Jr. Day' },
    { date: '2026-02-16', name: "Washington's Birthday" },
    { date: '2026-04-03', name: 'Good Friday' },
    { date: '2026-05-25', name: 'Memorial Day' },
    { date: '2026-06-19', name: 'Juneteenth National Independence Day' },
    { date: '2026-07-03', name: 'Independence Day (observed)' },
    { date: '2026-09-07', name: 'Labor Day' },
    { date: '2026-11-26', name: 'Thanksgiving Day' },
    { date: '2026-12-25', name: 'Christmas Day' },
    // 2027
    { date: '2027-01-01', name: "New Year's Day" },
    { date: '2027-01-18', name: 'Martin Luther King, Jr. Day' },
    { date: '2027-02-15', name: "Washington's Birthday" },
    { date: '2027-03-26', name: 'Good Friday' },
    { date: '2027-05-31', name: 'Memorial Day' },
    { date: '2027-06-18', name: 'Juneteenth National Independence Day (observed)' },
    { date: '2027-07-05', name: 'Independence Day (observed)' },
    { date: '2027-09-06', name: 'Labor Day' },
    { date: '2027-11-25', name: 'Thanksgiving Day' },
    { date: '2027-12-24', name: 'Christmas Day (observed)' },
    // 2028
    { date: '2028-01-17', name: 'Martin Luther King, Jr. Day', derived: true },
    { date: '2028-02-21', name: "Washington's Birthday", derived: true },
    { date: '2028-04-14', name: 'Good Friday', derived: true },
    { date: '2028-05-29', name: 'Memorial Day', derived: true },
    { date: '2028-06-19', name: 'Juneteenth National Independence Day', derived: true },
    { date: '2028-07-04', name: 'Independence Day', derived: true },
    { date: '2028-09-04', name: 'Labor Day', derived: true },
    { date: '2028-11-23', name: 'Thanksgiving Day', derived: true },
    { date: '2028-12-25', name: 'Christmas Day', derived: true },
    // 2029
    { date: '2029-01-01', name: "New Year's Day", derived: true },
    { date: '2029-01-15', name: 'Martin Luther King, Jr. Day', derived: true },
    { date: '2029-02-19', name: "Washington's Birthday", derived: true },
    { date: '2029-03-30', name: 'Good Friday', derived: true },
    { date: '2029-05-28', name: 'Memorial Day', derived: true },
    { date: '2029-06-19', name: 'Juneteenth National Independence Day', derived: true },
    { date: '2029-07-04', name: 'Independence Day', derived: true },
    { date: '2029-09-03', name: 'Labor Day', derived: true },
    { date: '2029-11-22', name: 'Thanksgiving Day', derived: true },
    { date: '2029-12-25', name: 'Christmas Day', derived: true },
    // 2030
    { date: '2030-01-01', name: "New Year's Day", derived: true },
    { date: '2030-01-21', name: 'Martin Luther King, Jr. Day', derived: true },
    { date: '2030-02-18', name: "Washington's Birthday", derived: true },
    { date: '2030-04-19', name: 'Good Friday', derived: true },
    { date: '2030-05-27', name: 'Memorial Day', derived: true },
    { date: '2030-06-19', name: 'Juneteenth National Independence Day', derived: true },
    { date: '2030-07-04', name: 'Independence Day', derived: true },
    { date: '2030-09-02', name: 'Labor Day', derived: true },
    { date: '2030-11-28', name: 'Thanksgiving Day', derived: true },
    { date: '2030-12-25', name: 'Christmas Day', derived: true },
  ],
};
