/**
 * The fixed reference rows of totesys, copied from the real snapshot of 2024-11-15 (SPEC §1):
 * every generated source starts with exactly these rows, so that generated and real data share
 * their dimensions. Values are carried as they are, typos included (department 4 is in 'Leds').
 * Rows are in catalogue column order; NULL is null. Copied once from the CSV files (so the
 * project never reads ../shared at run time).
 */
import type { SourceTableName } from '@totes/shared/source/tables';

export type ReferenceValue = string | number | null;
export type ReferenceTableName = Extract<SourceTableName, 'address' | 'counterparty' | 'currency' | 'department' | 'staff' | 'payment_type'>;

export const REFERENCE_TABLE_NAMES = ['currency', 'payment_type', 'department', 'address', 'counterparty', 'staff'] as const satisfies readonly ReferenceTableName[];

export const REFERENCE_ROWS: Readonly<Record<ReferenceTableName, readonly (readonly ReferenceValue[])[]>> = {
  address: [
    [1, '6826 Herzog Via', null, 'Avon', 'New Patienceburgh', '28441', 'Turkey', '1803 637401', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [2, '179 Alexie Cliffs', null, null, 'Aliso Viejo', '99305-7380', 'San Marino', '9621 880720', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [3, '148 Sincere Fort', null, null, 'Lake Charles', '89360', 'Samoa', '0730 783349', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [4, '6102 Rogahn Skyway', null, 'Bedfordshire', 'Olsonside', '47518', 'Republic of Korea', '1239 706295', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [5, '34177 Upton Track', null, null, 'Fort Shadburgh', '55993-8850', 'Bosnia and Herzegovina', '0081 009772', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [6, '846 Kailey Island', null, null, 'Kendraburgh', '08841', 'Zimbabwe', '0447 798320', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [7, '75653 Ernestine Ways', null, 'Buckinghamshire', 'North Deshaun', '02813', 'Faroe Islands', '1373 796260', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [8, '0579 Durgan Common', null, null, 'Suffolk', '56693-0660', 'United Kingdom', '8935 157571', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [9, '644 Edward Garden', null, 'Borders', 'New Tyra', '30825-5672', 'Australia', '0768 748652', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [10, '49967 Kaylah Flat', 'Tremaine Circles', 'Bedfordshire', 'Beaulahcester', '89470', 'Democratic People\'s Republic of Korea', '4949 998070', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [11, '249 Bernier Mission', null, 'Buckinghamshire', 'Corpus Christi', '85111-9300', 'Japan', '0222 525870', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [12, '6461 Ernesto Expressway', null, 'Berkshire', 'Pricetown', '37167-0340', 'Tajikistan', '4757 757948', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [13, '80828 Arch Dale', 'Torphy Turnpike', null, 'Shanahanview', '60728-5019', 'Bouvet Island (Bouvetoya)', '8806 209655', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [14, '84824 Bryce Common', 'Grady Turnpike', null, 'Maggiofurt', '50899-1522', 'Iraq', '3316 955887', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [15, '605 Haskell Trafficway', 'Axel Freeway', null, 'East Bobbie', '88253-4257', 'Heard Island and McDonald Islands', '9687 937447', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [16, '511 Orin Extension', 'Cielo Radial', 'Buckinghamshire', 'South Wyatt', '04524-5341', 'Iceland', '2372 180716', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [17, '962 Koch Drives', null, null, 'Hackensack', '95316-4738', 'Indonesia', '5507 549583', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [18, '58805 Sibyl Cliff', 'Leuschke Glens', 'Bedfordshire', 'Lake Arne', '63808', 'Kiribati', '0168 407254', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [19, '0283 Cole Corner', 'Izabella Ways', 'Buckinghamshire', 'West Briellecester', '01138', 'Sierra Leone', '1753 158314', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [20, '22073 Klein Landing', null, null, 'Pueblo', '91445', 'Republic of Korea', '4003 678621', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [21, '389 Georgette Ridge', null, 'Cambridgeshire', 'Fresno', '91510-3655', 'Bolivia', '8697 474676', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [22, '364 Goodwin Streets', null, null, 'Sayreville', '85544-4254', 'Svalbard & Jan Mayen Islands', '0847 468066', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [23, '822 Providenci Spring', null, 'Berkshire', 'Derekport', '25541', 'Papua New Guinea', '4111 801405', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [24, '8434 Daren Freeway', null, null, 'New Torrance', '17110', 'Antigua and Barbuda', '5582 055380', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [25, '253 Ullrich Inlet', 'Macey Wall', 'Borders', 'East Arvel', '35397-9952', 'Sudan', '0021 366201', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [26, '522 Pacocha Branch', null, 'Bedfordshire', 'Napa', '77211-4519', 'American Samoa', '5794 359212', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [27, '7212 Breitenberg View', 'Nora Bridge', 'Buckinghamshire', 'Oakland Park', '77499', 'Guam', '2949 665163', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [28, '079 Horacio Landing', null, null, 'Utica', '93045', 'Austria', '7772 084705', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [29, '37736 Heathcote Lock', 'Noemy Pines', null, 'Bartellview', '42400-5199', 'Congo', '1684 702261', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [30, '0336 Ruthe Heights', null, 'Buckinghamshire', 'Lake Myrlfurt', '94545-4284', 'Falkland Islands (Malvinas)', '1083 286132', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
  ],
  counterparty: [
    [1, 'Fahey and Sons', 15, 'Micheal Toy', 'Mrs. Lucy Runolfsdottir', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [2, 'Leannon, Predovic and Morar', 28, 'Melba Sanford', 'Jean Hane III', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [3, 'Armstrong Inc', 2, 'Jane Wiza', 'Myra Kovacek', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [4, 'Kohler Inc', 29, 'Taylor Haag', 'Alfredo Cassin II', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [5, 'Frami, Yundt and Macejkovic', 22, 'Homer Mitchell', 'Ivan Balistreri', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [6, 'Mraz LLC', 23, 'Florence Casper', 'Eva Upton', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [7, 'Padberg, Lueilwitz and Johnson', 16, 'Ms. Wilma Witting', 'Christy O\'Hara', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [8, 'Grant - Lakin', 16, 'Emily Orn', 'Veronica Fay', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [9, 'Price LLC', 5, 'Sheryl Langworth', 'Simon Schoen', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [10, 'Bosco - Grant', 10, 'Ed Halvorson', 'Dewey Kuhic', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [11, 'Corkery - Nienow', 17, 'Glen Emmerich', 'Laurie Hermiston', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [12, 'Keeling - Emmerich', 7, 'Marcus Rogahn', 'Rosa Powlowski', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [13, 'Hand, Krajcik and Kuhlman', 5, 'Sherry Rice', 'Elizabeth Senger', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [14, 'Hintz, Hayes and Will', 30, 'Ms. Susan Haley', 'Andrea Kassulke PhD', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [15, 'Emmerich, Rohan and Reynolds', 17, 'Roderick Waters', 'Jake Welch DVM', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [16, 'Hartmann, Franecki and Ratke', 14, 'Alberta Franecki DDS', 'Tracy Quigley', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [17, 'Kihn Group', 17, 'Dr. Doris Heidenreich', 'Gregg Beahan', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [18, 'Smith and Sons', 17, 'Laura Graham', 'Olivia Franey', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [19, 'Ondricka, Conroy and Turcotte', 18, 'Pearl Kreiger', 'Warren Weimann', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [20, 'Yost, Watsica and Mann', 2, 'Sophie Konopelski', 'Janie Doyle', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
  ],
  currency: [
    [1, 'GBP', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [2, 'USD', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [3, 'EUR', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
  ],
  department: [
    [1, 'Sales', 'Manchester', 'Richard Roma', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [2, 'Purchasing', 'Manchester', 'Naomi Lapaglia', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [3, 'Production', 'Leeds', 'Chester Ming', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [4, 'Dispatch', 'Leds', 'Mark Hanna', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [5, 'Finance', 'Manchester', 'Jordan Belfort', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [6, 'Facilities', 'Manchester', 'Shelley Levene', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [7, 'Communications', 'Leeds', 'Ann Blake', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [8, 'HR', 'Leeds', 'James Link', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
  ],
  staff: [
    [1, 'Jeremie', 'Franey', 2, 'jeremie.franey@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [2, 'Deron', 'Beier', 6, 'deron.beier@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [3, 'Jeanette', 'Erdman', 6, 'jeanette.erdman@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [4, 'Ana', 'Glover', 3, 'ana.glover@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [5, 'Magdalena', 'Zieme', 8, 'magdalena.zieme@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [6, 'Korey', 'Kreiger', 3, 'korey.kreiger@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [7, 'Raphael', 'Rippin', 2, 'raphael.rippin@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [8, 'Oswaldo', 'Bergstrom', 7, 'oswaldo.bergstrom@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [9, 'Brody', 'Ratke', 2, 'brody.ratke@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [10, 'Jazmyn', 'Kuhn', 2, 'jazmyn.kuhn@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [11, 'Meda', 'Cremin', 5, 'meda.cremin@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [12, 'Imani', 'Walker', 5, 'imani.walker@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [13, 'Stan', 'Lehner', 4, 'stan.lehner@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [14, 'Rigoberto', 'VonRueden', 7, 'rigoberto.vonrueden@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [15, 'Tom', 'Gutkowski', 3, 'tom.gutkowski@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [16, 'Jett', 'Parisian', 6, 'jett.parisian@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [17, 'Irving', 'O\'Keefe', 3, 'irving.o\'keefe@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [18, 'Tomasa', 'Moore', 8, 'tomasa.moore@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [19, 'Pierre', 'Sauer', 2, 'pierre.sauer@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
    [20, 'Flavio', 'Kulas', 3, 'flavio.kulas@terrifictotes.com', '2022-11-03 14:20:51.563000', '2022-11-03 14:20:51.563000'],
  ],
  payment_type: [
    [1, 'SALES_RECEIPT', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [2, 'SALES_REFUND', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [3, 'PURCHASE_PAYMENT', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
    [4, 'PURCHASE_REFUND', '2022-11-03 14:20:49.962000', '2022-11-03 14:20:49.962000'],
  ],
};

/** The design names (materials) seen in the real design table. */
export const DESIGN_NAMES = ['Bronze', 'Concrete', 'Cotton', 'Fresh', 'Frozen', 'Granite', 'Metal', 'Plastic', 'Rubber', 'Soft', 'Steel', 'Wooden'] as const;

/** The file locations seen in the real design table. */
export const DESIGN_FILE_LOCATIONS = [
  '/Applications', '/Library', '/Network', '/System', '/Users', '/bin', '/boot', '/boot/defaults', '/dev', '/etc',
  '/etc/defaults', '/etc/mail', '/etc/namedb', '/etc/periodic', '/etc/ppp', '/home', '/home/user', '/home/user/dir',
  '/lib', '/lost+found', '/media', '/mnt', '/net', '/opt', '/opt/bin', '/opt/include', '/opt/lib', '/opt/sbin',
  '/opt/share', '/private', '/private/tmp', '/private/var', '/proc', '/rescue', '/root', '/sbin', '/selinux', '/srv',
  '/sys', '/tmp', '/usr', '/usr/X11R6', '/usr/bin', '/usr/include', '/usr/lib', '/usr/libdata', '/usr/libexec',
  '/usr/local/bin', '/usr/local/src', '/usr/obj', '/usr/ports', '/usr/sbin', '/usr/share', '/usr/src', '/var',
  '/var/log', '/var/mail', '/var/spool', '/var/tmp', '/var/yp',
] as const;
