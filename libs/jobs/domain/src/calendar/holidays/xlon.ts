import type { HolidayTable } from './holiday-table.js';

/**
 * London Stock Exchange (MIC XLON): every weekday the exchange is closed all day, 2018-2030, i.e.
 * the bank holidays of England and Wales. Data, not rules: the spec recomputes each regular bank
 * holiday and its substitute days from the standing rules and fails on any difference.
 */
export const XLON_HOLIDAYS: HolidayTable = {
  calendar: 'XLON',
  name: 'London Stock Exchange',
  timezone: 'Europe/London',
  years: { from: 2018, to: 2030 },
  sources: [
    {
      title: 'London Stock Exchange: Business days (trading calendar)',
      url: 'https://www.londonstockexchange.com/equities-trading/business-days',
    },
    { title: 'GOV.UK: UK bank holidays (England and Wales)', url: 'https://www.gov.uk/bank-holidays' },
  ],
  notes:
    'Full-day closures of the London Stock Exchange on weekdays (weekends are not listed): the bank holidays of ' +
    'England and Wales, not those of Scotland or Northern Ireland (the exchange is open on 2 January). Regular bank ' +
    "holidays: New Year's Day, Good Friday, Easter Monday, Early May bank holiday (first Monday of May), Spring bank " +
    'holiday (last Monday of May), Summer bank holiday (last Monday of August), Christmas Day and Boxing Day. ' +
    "Substitute days: a New Year's Day on a weekend moves to the Monday after; Christmas Day and Boxing Day on a " +
    'weekend move to the next weekdays that are not already holidays (Christmas on a Saturday: Monday 27 and Tuesday ' +
    '28 December; on a Sunday: Boxing Day Monday 26, Christmas substitute Tuesday 27; Boxing Day on a Saturday: Monday ' +
    '28). Special cases: 2020 Early May bank holiday moved to Friday 8 May (75th anniversary of VE Day); 2022 Spring ' +
    'bank holiday moved to Thursday 2 June, with an extra bank holiday on Friday 3 June (Platinum Jubilee); Monday 19 ' +
    'September 2022 (State Funeral of Queen Elizabeth II); Monday 8 May 2023 (Coronation of King Charles III). ' +
    '2018-2026 are as published on GOV.UK and by the exchange; entries marked derived (2027-2030) are computed from ' +
    'the standing rules and may change if a bank holiday is moved or added by royal proclamation. Early closes ' +
    "(12:30 London time on Christmas Eve and New Year's Eve, or the last business day before them) are not closures " +
    'and are left out.',
  holidays: [
    // 2018
    { date: '2018-01-01', name: "New Year's Day" },
    { date: '2018-03-30', name: 'Good Friday' },
    { date: '2018-04-02', name: 'Easter Monday' },
    { date: '2018-05-07', name: 'Early May bank holiday' },
    { date: '2018-05-28', name: 'Spring bank holiday' },
    { date: '2018-08-27', name: 'Summer bank holiday' },
    { date: '2018-12-25', name: 'Christmas Day' },
    { date: '2018-12-26', name: 'Boxing Day' },
    // 2019
    { date: '2019-01-01', name: "New Year's Day" },
    { date: '2019-04-19', name: 'Good Friday' },
    { date: '2019-04-22', name: 'Easter Monday' },
    { date: '2019-05-06', name: 'Early May bank holiday' },
    { date: '2019-05-27', name: 'Spring bank holiday' },
    { date: '2019-08-26', name: 'Summer bank holiday' },
    { date: '2019-12-25', name: 'Christmas Day' },
    { date: '2019-12-26', name: 'Boxing Day' },
    // 2020
    { date: '2020-01-01', name: "New Year's Day" },
    { date: '2020-04-10', name: 'Good Friday' },
    { date: '2020-04-13', name: 'Easter Monday' },
    { date: '2020-05-08', name: 'Early May bank holiday (VE Day)' },
    { date: '2020-05-25', name: 'Spring bank holiday' },
    { date: '2020-08-31', name: 'Summer bank holiday' },
    { date: '2020-12-25', name: 'Christmas Day' },
    { date: '2020-12-28', name: 'Boxing Day (substitute day)' },
    // 2021
    { date: '2021-01-01', name: "New Year's Day" },
    { date: '2021-04-02', name: 'Good Friday' },
    { date: '2021-04-05', name: 'Easter Monday' },
    { date: '2021-05-03', name: 'Early May bank holiday' },
    { date: '2021-05-31', name: 'Spring bank holiday' },
    { date: '2021-08-30', name: 'Summer bank holiday' },
    { date: '2021-12-27', name: 'Christmas Day (substitute day)' },
    { date: '2021-12-28', name: 'Boxing Day (substitute day)' },
    // 2022
    { date: '2022-01-03', name: "New Year's Day (substitute day)" },
    { date: '2022-04-15', name: 'Good Friday' },
    { date: '2022-04-18', name: 'Easter Monday' },
    { date: '2022-05-02', name: 'Early May bank holiday' },
    { date: '2022-06-02', name: 'Spring bank holiday' },
    { date: '2022-06-03', name: 'Platinum Jubilee bank holiday' },
    { date: '2022-08-29', name: 'Summer bank holiday' },
    { date: '2022-09-19', name: 'Bank holiday for the State Funeral of Queen Elizabeth II' },
    { date: '2022-12-26', name: 'Boxing Day' },
    { date: '2022-12-27', name: 'Christmas Day (substitute day)' },
    // 2023
    { date: '2023-01-02', name: "New Year's Day (substitute day)" },
    { date: '2023-04-07', name: 'Good Friday' },
    { date: '2023-04-10', name: 'Easter Monday' },
    { date: '2023-05-01', name: 'Early May bank holiday' },
    { date: '2023-05-08', name: 'Bank holiday for the coronation of King Charles III' },
    { date: '2023-05-29', name: 'Spring bank holiday' },
    { date: '2023-08-28', name: 'Summer bank holiday' },
    { date: '2023-12-25', name: 'Christmas Day' },
    { date: '2023-12-26', name: 'Boxing Day' },
    // 2024
    { date: '2024-01-01', name: "New Year's Day" },
    { date: '2024-03-29', name: 'Good Friday' },
    { date: '2024-04-01', name: 'Easter Monday' },
    { date: '2024-05-06', name: 'Early May bank holiday' },
    { date: '2024-05-27', name: 'Spring bank holiday' },
    { date: '2024-08-26', name: 'Summer bank holiday' },
    { date: '2024-12-25', name: 'Christmas Day' },
    { date: '2024-12-26', name: 'Boxing Day' },
    // 2025
    { date: '2025-01-01', name: "New Year's Day" },
    { date: '2025-04-18', name: 'Good Friday' },
    { date: '2025-04-21', name: 'Easter Monday' },
    { date: '2025-05-05', name: 'Early May bank holiday' },
    { date: '2025-05-26', name: 'Spring bank holiday' },
    { date: '2025-08-25', name: 'Summer bank holiday' },
    { date: '2025-12-25', name: 'Christmas Day' },
    { date: '2025-12-26', name: 'Boxing Day' },
    // 2026
    { date: '2026-01-01', name: "New Year's Day" },
    { date: '2026-04-03', name: 'Good Friday' },
    { date: '2026-04-06', name: 'Easter Monday' },
    { date: '2026-05-04', name: 'Early May bank holiday' },
    { date: '2026-05-25', name: 'Spring bank holiday' },
    { date: '2026-08-31', name: 'Summer bank holiday' },
    { date: '2026-12-25', name: 'Christmas Day' },
    { date: '2026-12-28', name: 'Boxing Day (substitute day)' },
    // 2027
    { date: '2027-01-01', name: "New Year's Day", derived: true },
    { date: '2027-03-26', name: 'Good Friday', derived: true },
    { date: '2027-03-29', name: 'Easter Monday', derived: true },
    { date: '2027-05-03', name: 'Early May bank holiday', derived: true },
    { date: '2027-05-31', name: 'Spring bank holiday', derived: true },
    { date: '2027-08-30', name: 'Summer bank holiday', derived: true },
    { date: '2027-12-27', name: 'Christmas Day (substitute day)', derived: true },
    { date: '2027-12-28', name: 'Boxing Day (substitute day)', derived: true },
    // 2028
    { date: '2028-01-03', name: "New Year's Day (substitute day)", derived: true },
    { date: '2028-04-14', name: 'Good Friday', derived: true },
    { date: '2028-04-17', name: 'Easter Monday', derived: true },
    { date: '2028-05-01', name: 'Early May bank holiday', derived: true },
    { date: '2028-05-29', name: 'Spring bank holiday', derived: true },
    { date: '2028-08-28', name: 'Summer bank holiday', derived: true },
    { date: '2028-12-25', name: 'Christmas Day', derived: true },
    { date: '2028-12-26', name: 'Boxing Day', derived: true },
    // 2029
    { date: '2029-01-01', name: "New Year's Day", derived: true },
    { date: '2029-03-30', name: 'Good Friday', derived: true },
    { date: '2029-04-02', name: 'Easter Monday', derived: true },
    { date: '2029-05-07', name: 'Early May bank holiday', derived: true },
    { date: '2029-05-28', name: 'Spring bank holiday', derived: true },
    { date: '2029-08-27', name: 'Summer bank holiday', derived: true },
    { date: '2029-12-25', name: 'Christmas Day', derived: true },
    { date: '2029-12-26', name: 'Boxing Day', derived: true },
    // 2030
    { date: '2030-01-01', name: "New Year's Day", derived: true },
    { date: '2030-04-19', name: 'Good Friday', derived: true },
    { date: '2030-04-22', name: 'Easter Monday', derived: true },
    { date: '2030-05-06', name: 'Early May bank holiday', derived: true },
    { date: '2030-05-27', name: 'Spring bank holiday', derived: true },
    { date: '2030-08-26', name: 'Summer bank holiday', derived: true },
    { date: '2030-12-25', name: 'Christmas Day', derived: true },
    { date: '2030-12-26', name: 'Boxing Day', derived: true },
  ],
};
